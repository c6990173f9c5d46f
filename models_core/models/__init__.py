from .access import UserPermission, UserSession
from .knowledge import KnowledgeBaseArticle
from .organizations import Organization
from .sla import SLAPolicy
from .tickets import Ticket, TicketAttachment, TicketComment
from .users import User

__all__ = [
    "KnowledgeBaseArticle",
    "Organization",
    "SLAPolicy",
    "Ticket",
    "TicketAttachment",
    "TicketComment",
    "User",
    "UserPermission",
    "UserSession",
]
