from .access import UserPermission, UserSession
from .files import PendingFileRemoval
from .knowledge import KnowledgeBaseArticle
from .organizations import Organization
from .sla import SLAPolicy
from .tickets import Ticket, TicketAttachment, TicketComment
from .users import User

__all__ = [
    "KnowledgeBaseArticle",
    "Organization",
    "PendingFileRemoval",
    "SLAPolicy",
    "Ticket",
    "TicketAttachment",
    "TicketComment",
    "User",
    "UserPermission",
    "UserSession",
]
