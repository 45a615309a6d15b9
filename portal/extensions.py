"""Extensions, created unbound here and wired to an app in ``create_app``."""

from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect

babel = Babel()
bootstrap = Bootstrap5()
csrf = CSRFProtect()
login_manager = LoginManager()
talisman = Talisman()
# No default limits: limits are declared where they matter (sign-in, and the API per client).
# Counted in Redis when REDIS_URL is set, so every app process shares them. Should Redis stop
# answering, limits fail safe: each process counts in its own memory until Redis is back (checked
# again after 1, 2, 4... seconds), and an error while counting is logged, never a 500.
limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[],
    in_memory_fallback_enabled=True,
    swallow_errors=True,
)
