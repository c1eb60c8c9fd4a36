"""Delivery channels shared by scheduled reports and alert rules: typed targets
(`targets.py`), the address rule for webhooks (`safety.py`), tries and their records
(`attempts.py`), and the senders (`webhook.py`, `email.py`)."""

from chanalytics.deliveries.attempts import DeliveryOutcome, DeliveryTry, RetryPolicy
from chanalytics.deliveries.email import Attachment, EmailSender, SmtpServer
from chanalytics.deliveries.safety import AddressPolicy, UnsafeTarget, check_webhook_url
from chanalytics.deliveries.targets import Delivery, EmailTarget, Event, WebhookTarget
from chanalytics.deliveries.webhook import FileBody, WebhookSender, signature

__all__ = ["AddressPolicy", "Attachment", "Delivery", "DeliveryOutcome", "DeliveryTry",
           "EmailSender", "EmailTarget", "Event", "FileBody", "RetryPolicy", "SmtpServer",
           "UnsafeTarget", "WebhookSender", "WebhookTarget", "check_webhook_url", "signature"]
