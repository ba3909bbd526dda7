"""Imports every domain's tables so the metadata Alembic compares against is complete."""

from topup.accounts import models as accounts_models
from topup.catalogue import models as catalogue_models
from topup.idempotency import models as idempotency_models
from topup.kit import sandbox_clock
from topup.kit.db import Base
from topup.ledger import models as ledger_models
from topup.notifications import models as notifications_models
from topup.orders import models as orders_models
from topup.payments import models as payments_models
from topup.pins import models as pins_models
from topup.promotions import models as promotions_models
from topup.providers.payments import sandbox_models
from topup.providers.suppliers import simulator_models
from topup.refunds import models as refunds_models
from topup.risk import models as risk_models
from topup.schedules import models as schedules_models
from topup.subscriptions import models as subscriptions_models
from topup.wallet import models as wallet_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "catalogue_models",
    "idempotency_models",
    "ledger_models",
    "metadata",
    "notifications_models",
    "orders_models",
    "payments_models",
    "pins_models",
    "promotions_models",
    "refunds_models",
    "risk_models",
    "sandbox_clock",
    "sandbox_models",
    "schedules_models",
    "simulator_models",
    "subscriptions_models",
    "wallet_models",
]
