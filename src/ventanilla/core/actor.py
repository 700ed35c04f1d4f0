from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who does something, for whom, and through which channel. Services take one so the audit log can say
    "official X for citizen Y, at an office" without reaching into the request."""

    id: str
    label: str
    on_behalf_of: str = ""
    channel: str = "web"

    CHANNELS = ("web", "api", "office", "phone311", "infoplaza", "system")

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(id="system", label=label, channel="system")

    @classmethod
    def anonymous(cls, channel: str = "web") -> "Actor":
        return cls(id="anonymous", label="anonymous", channel=channel)
