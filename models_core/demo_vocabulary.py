"""The words the demo data is made of: products, subjects, replies, tags, skills, reasons, SLA targets and
the weights of statuses and priorities (models_core.demo picks from them with its seeded random)."""

from __future__ import annotations

from .models import Ticket

PRODUCTS = [
    "billing portal",
    "mobile app",
    "reporting dashboard",
    "API",
    "single sign-on",
    "invoice export",
    "email integration",
    "scheduler",
    "data import",
    "customer portal",
]
SUBJECTS = [
    "Cannot log in to the {product}",
    "{product} is very slow since this morning",
    "Error 500 when opening the {product}",
    "How do I change my password in the {product}?",
    "Invoice #{number} shows the wrong amount",
    "Refund request for order ORD-{number}",
    "{product}: export to CSV is missing columns",
    "Two-factor codes are not arriving",
    "Please add a new user to our account",
    "Webhook deliveries failing with timeouts",
    "Feature request: dark mode in the {product}",
    "Duplicate charge on our credit card",
    "{product} shows another customer's data",
    "Password reset email never arrives",
    "Cannot upload attachments larger than 10 MB",
    "SSO login loops back to the sign-in page",
    "Our team was charged for {number} seats",
    "{product} crashes on startup after the update",
    "Data import stuck at {number}%",
    "Question about the enterprise plan",
]
OPENINGS = [
    "Hi team,",
    "Hello,",
    "Good morning,",
    "Hi support,",
    "Dear support team,",
]
DETAILS = [
    "It started after yesterday's update.",
    "Three of my colleagues see the same thing.",
    "We already cleared the cache and tried another browser.",
    "This blocks our month-end closing.",
    "The error message says: 'Something went wrong, please try again later.'",
    "It happens every time, on both Chrome and Firefox.",
    "I attached a screenshot of what we see.",
    "Our account manager suggested we open a ticket.",
    "It worked fine until last week.",
    "We need this fixed before our audit on Friday.",
]
CLOSINGS = ["Thanks!", "Best regards,", "Kind regards,", "Thank you in advance.", "Cheers,"]
AGENT_REPLIES = [
    "Thanks for reaching out. Could you tell us which browser and version you are using?",
    "I have reproduced the problem and escalated it to our engineers.",
    "A fix has been deployed; could you check whether it works for you now?",
    "I have reset the configuration on our side. Please sign out and in again.",
    "Could you send us the exact time the error happened, so we can find it in the logs?",
    "This is expected behaviour for your plan; I have sent details of the options by email.",
    "I have applied the credit to your account; it will show on the next invoice.",
]
CUSTOMER_REPLIES = [
    "Still happening, unfortunately.",
    "That fixed it, thank you!",
    "We use the latest Chrome on Windows 11.",
    "It happened at about 9:30 this morning.",
    "Any update on this?",
    "Thanks, I will try that and get back to you.",
]
INTERNAL_NOTES = [
    "Looks like the same issue as last week's incident; linking the postmortem.",
    "Customer is on the enterprise plan: keep the SLA in mind.",
    "Asked engineering in #support-escalations.",
    "Do not close before billing confirms the refund.",
    "Known bug, fix scheduled for the next release.",
]
SYSTEM_EVENTS = [
    "Ticket created from an email to support.",
    "Priority changed by an automation rule.",
    "Ticket reassigned after the agent went offline.",
    "SLA reminder sent to the assigned agent.",
    "Customer satisfaction survey sent.",
]
TAGS = [
    "billing",
    "login",
    "bug",
    "feature-request",
    "urgent-customer",
    "vip",
    "refund",
    "sso",
    "api",
    "mobile",
]
CHANNELS = ["email", "web", "phone", "chat", "api"]
REGIONS = ["EU", "US", "APAC", "LATAM"]
SKILLS = [
    "billing",
    "networking",
    "sso",
    "api",
    "mobile",
    "databases",
    "onboarding",
    "security",
    "german",
    "french",
]
CERTIFICATIONS = ["ITIL Foundation", "HDI Support Center Analyst", "AWS Cloud Practitioner", "CompTIA A+"]
PERMISSIONS = [
    "trash.view",
    "trash.restore",
    "trash.purge",
    "validation.view",
    "validation.run_scan",
    "dbhealth.view",
]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "HelpdeskMobile/4.2 (iPhone; iOS 17.5)",
    "python-requests/2.32 (integration)",
]
ARTICLE_TOPICS = [
    "How to reset your password",
    "Setting up single sign-on",
    "Understanding your invoice",
    "Exporting reports to CSV",
    "Adding users to your account",
    "Troubleshooting webhook deliveries",
    "Using the mobile app offline",
    "Two-factor authentication explained",
    "Importing data from spreadsheets",
    "Our service level agreement",
    "Requesting a refund",
    "API rate limits",
]
DELETE_REASONS = [
    "Duplicate of another ticket",
    "Spam",
    "Opened by mistake",
    "Test ticket from onboarding",
]
# Minutes to first response and to resolution per priority: what SLA policies and due dates use.
SLA_TARGETS = {
    Ticket.Priority.URGENT: (30, 240),
    Ticket.Priority.HIGH: (60, 480),
    Ticket.Priority.MEDIUM: (240, 1440),
    Ticket.Priority.LOW: (480, 4320),
}
STATUS_WEIGHTS = {"new": 10, "open": 20, "pending": 10, "resolved": 32, "closed": 22, "cancelled": 6}
PRIORITY_WEIGHTS = {"low": 30, "medium": 40, "high": 20, "urgent": 10}
# A 1x1 transparent PNG: attachments are real files, just tiny.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4970000000049454e44ae426082"
)
