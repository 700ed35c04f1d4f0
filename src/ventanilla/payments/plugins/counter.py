"""The counter: cash (or the office's own card terminal) taken by a cashier of an institution or a bank agent, for
people without cards. There is no remote party: the cashier records the payment (services.record_counter_payment),
which succeeds at once, and money given back is handed over at the counter. The cash book is the platform's own
records, so there is no settlement report to reconcile against."""

from . import Provider, ProviderStatus, RefundResult, Started, providers


@providers.register("counter")
class Counter(Provider):
    channel = "counter"

    def start(
        self, *, payment_id, amount, currency, description, return_url, callback_url, expires_in_seconds
    ):
        return Started(reference=f"ctr_{payment_id.replace('-', '')}", redirect_url="")

    def status(self, *, reference):
        return ProviderStatus(reference=reference, status="started")

    def refund(self, *, reference, refund_id, amount, currency):
        return RefundResult(reference=f"ctr_rf_{refund_id.replace('-', '')}", status="succeeded")

    def settlement_report(self, *, day):
        return []
