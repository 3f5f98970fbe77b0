"""The pure core: protocols, schedules, re-planning, site days, visit identity
and iCalendar rendering. Functions of their inputs only ("today", "now", ids
and zones are passed in); no database, no command line, no HTTP.
"""
