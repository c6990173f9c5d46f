# Django's English formats, with the time zone on every date and time: staff read the console from
# several time zones, and the server's zone (UTC) is not theirs.
DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
