from .organizations import Organization
from .users import User

__all__ = ["Organization", "User"]
