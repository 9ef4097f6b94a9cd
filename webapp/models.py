"""Every model module, imported once so the metadata is complete
(for Alembic, for tests, and for relationship strings)."""
from webapp.auth import models as auth_models  # noqa: F401
from webapp.orgs import models as orgs_models  # noqa: F401
from webapp.core import audit, jobs, numbering  # noqa: F401
from webapp.ledger import models as ledger_models  # noqa: F401
from webapp.catalog import models as catalog_models  # noqa: F401
from webapp.inventory import models as inventory_models  # noqa: F401
from webapp.core import imports  # noqa: F401
from webapp.parties import models as parties_models  # noqa: F401
from webapp.sales import models as sales_models  # noqa: F401
from webapp.payments import models as payments_models  # noqa: F401
from webapp.purchases import models as purchases_models  # noqa: F401
