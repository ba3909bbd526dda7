"""Imports every domain's tables so the metadata Alembic compares against is complete."""

from topup.catalogue import models as catalogue_models
from topup.kit.db import Base

metadata = Base.metadata

__all__ = ["catalogue_models", "metadata"]
