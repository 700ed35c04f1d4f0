from ventanilla.core.events import subscriber

from . import services, tasks


@subscriber("identity.session_ended")
def sign_out_of_services(event) -> None:
    """A browser session ended (signed out, ended from another device, ended by a service): its tokens stop
    working and every service that received tokens in it is told through back-channel logout."""
    sid, user_id = event.payload["sid"], event.payload["user"]
    for service in services.end_session_tokens(sid=sid):
        tasks.deliver_backchannel_logout.enqueue(service_id=str(service.id), sid=sid, user_id=user_id)
