// Parse an iCalendar file with Mozilla's ical.js and print its events as JSON.
//
//   node check.mjs FILE.ics
//
// Prints [{"uid", "start", "end"}, ...] in file order: a timed start/end as a
// UTC ISO instant ("2026-03-02T14:00:00.000Z"), a date-only one as
// "YYYY-MM-DD"; "triggers" lists each VALARM's TRIGGER in seconds (negative:
// before the start). The VTIMEZONEs of the file are registered first, and a
// DTSTART/DTEND whose TZID has none is an error: ical.js would otherwise
// silently treat it as floating time. Exits 1 with a message on any problem.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function fail(message) {
  process.stderr.write(`check.mjs: ${message}\n`);
  process.exit(1);
}

function instant(time) {
  if (time.isDate) {
    return time.toString();
  }
  return new Date(time.toUnixTime() * 1000).toISOString();
}

const path = process.argv[2];
if (!path) {
  fail("usage: node check.mjs FILE.ics");
}

let calendar;
try {
  calendar = new ICAL.Component(ICAL.parse(readFileSync(path, "utf8")));
} catch (error) {
  fail(`${path}: ${error}`);
}
if (calendar.name !== "vcalendar") {
  fail(`${path}: top component is ${calendar.name}, not vcalendar`);
}

ICAL.TimezoneService.reset();
for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
}

const events = [];
for (const vevent of calendar.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(vevent);
  if (!event.uid) {
    fail(`${path}: an event has no UID`);
  }
  for (const name of ["dtstart", "dtend"]) {
    const property = vevent.getFirstProperty(name);
    if (!property) {
      fail(`${path}: event ${event.uid} has no ${name.toUpperCase()}`);
    }
    const tzid = property.getParameter("tzid");
    if (tzid && !ICAL.TimezoneService.has(tzid)) {
      fail(`${path}: event ${event.uid} uses TZID ${tzid} without a VTIMEZONE`);
    }
    const value = property.getFirstValue();
    if (!value.isDate && !tzid && value.zone !== ICAL.Timezone.utcTimezone) {
      fail(`${path}: event ${event.uid} has a floating ${name.toUpperCase()}`);
    }
  }
  const triggers = vevent
    .getAllSubcomponents("valarm")
    .map((alarm) => alarm.getFirstPropertyValue("trigger").toSeconds());
  events.push({
    uid: event.uid,
    start: instant(event.startDate),
    end: instant(event.endDate),
    triggers,
  });
}
process.stdout.write(JSON.stringify(events) + "\n");
