// The tablet's words, Danish first; English for citizens whose language is "en".

const TEXTS = {
  da: {},
  en: {
    app_title: "Screen visit",
    loading: "One moment…",
    pairing_title: "This screen must be connected to home care",
    pairing_help: "Give this code to home care:",
    pairing_note: "The code works for 10 minutes.",
    start_title: "The screen is ready",
    start_button: "Tap to start",
    no_visit: "No screen visits are planned in the next few days.",
    callback_button: "Call me",
    callback_done: "Home care has been told and will call you.",
    auto_answer_in: "Answering by itself in",
    seconds: "seconds",
    cancel_auto: "Stop",
    answer: "Answer",
    decline: "Decline",
    in_call: "You are in a screen visit",
    camera_live: "The camera is on",
    camera_off: "Your picture is hidden",
    hide_camera: "Hide my picture",
    show_camera: "Show my picture",
    hang_up: "Hang up",
    revoked_title: "Contact home care",
    revoked_help: "The screen cannot connect right now. Please call home care.",
    reconnecting: "Reconnecting…",
    staff_code: "For staff – code to connect this screen again:",
    today: "today",
    tomorrow: "tomorrow",
    comes_on_screen: "{who} will be on the screen {day} at {time} — {what}",
    home_care: "Home care",
    agreements_title: "Today's agreements",
    agreements_from: "Agreements from the meeting on {date}",
    agreements_you: "What you do",
    agreements_we: "What we do",
    agreements_phone: "Call us:",
    decline_confirm: "Tap again to decline",
    decline_help: "Tap twice to decline.",
    selftest_running: "The screen is checking the camera and sound …",
    questions_topics: "What would you like to talk about?",
    questions_people: "Who should take part?",
    questions_when: "Before the meeting at {time}",
    questions_done: "Done",
    questions_skip: "Not now",
    topic_medicine: "My medicine",
    topic_food: "Food and drink",
    topic_bath: "Bathing and personal care",
    topic_outings: "Getting out / activities",
    topic_night: "Feeling safe at night",
    topic_other: "Something else",
    people_contact: "My contact person",
    people_nobody: "Nobody else",
  },
};

// Danish strings that are not in the page itself.
const DANISH = {
  show_camera: "Vis mit billede",
  hide_camera: "Skjul mit billede",
  callback_done: "Hjemmeplejen har fået besked og ringer til dig.",
  home_care: "Hjemmeplejen",
  agreements_title: "Aftaler i dag",
  agreements_from: "Aftaler fra mødet {date}",
  decline: "Afvis",
  decline_confirm: "Tryk igen for at afvise",
  questions_topics: "Hvad vil du gerne tale om?",
  questions_people: "Hvem skal være med?",
  questions_when: "Før mødet kl. {time}",
  topic_medicine: "Min medicin",
  topic_food: "Mad og drikke",
  topic_bath: "Bad og personlig pleje",
  topic_outings: "At komme ud / aktiviteter",
  topic_night: "Tryghed om natten",
  topic_other: "Noget andet",
  people_contact: "Min kontaktperson",
  people_nobody: "Ingen andre",
};

const ROLES = {
  da: { nurse: "Sygeplejerske", carer: "Social- og sundhedshjælper", visitator: "Visitator",
        planner: "Planlægger", admin: "Hjemmeplejen", relative: "Pårørende" },
  en: { nurse: "Nurse", carer: "Care worker", visitator: "Needs assessor",
        planner: "Planner", admin: "Home care", relative: "Relative" },
};

const VISITS = {
  da: { medication: "Medicin", bath: "Bad (dit billede er skjult)", reassurance: "Tryghedsopkald",
        wake_up: "Vækning", meal_drink: "Mad og drikke", blood_sugar: "Blodsukker",
        visitation_meeting: "Møde" },
  en: { medication: "Medication", bath: "Bath (your picture is hidden)", reassurance: "Reassurance call",
        wake_up: "Wake-up call", meal_drink: "Meal and drink", blood_sugar: "Blood sugar",
        visitation_meeting: "Meeting" },
};

let language = "da";
const original = new Map();

/** Switch the page's language ("da" or "en"); unknown languages stay Danish. */
export function setLanguage(lang) {
  language = lang === "en" ? "en" : "da";
  document.documentElement.lang = language;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    const key = el.dataset.i18n;
    if (!original.has(el)) original.set(el, el.textContent);
    el.textContent = language === "da" ? original.get(el) : TEXTS.en[key] ?? original.get(el);
  }
}

/** One string in the current language. */
export function t(key) {
  if (language === "en" && TEXTS.en[key]) return TEXTS.en[key];
  return DANISH[key] ?? document.querySelector(`[data-i18n="${key}"]`)?.textContent ?? key;
}

/** A role label for the ringing screen. */
export function roleLabel(role) {
  return ROLES[language][role] ?? "";
}

// A relative's relation as the register writes it (Danish), for the English screen.
const RELATIONS_EN = {
  datter: "daughter", søn: "son", barnebarn: "grandchild", søster: "sister", bror: "brother",
  niece: "niece", nevø: "nephew", hustru: "wife", kone: "wife", mand: "husband",
  ægtefælle: "spouse", svigerdatter: "daughter-in-law", svigersøn: "son-in-law", ven: "friend",
  veninde: "friend", nabo: "neighbour",
};
const NEUTER = new Set(["barnebarn", "oldebarn"]); // "dit barnebarn", but "din datter"

/**
 * Who is calling, as the ringing screen's two lines: a nurse is "Anna Jensen" / "Sygeplejerske";
 * a relative who rings from her link is "Ida ringer" / "din datter".
 * @param {{name: string, role?: string|null, relation?: string|null}} caller
 * @returns {[string, string]}
 */
export function callerLines(caller) {
  if (caller.role !== "relative" || !caller.relation) return [caller.name, roleLabel(caller.role)];
  const first = caller.name.split(" ")[0];
  const relation = caller.relation.trim();
  if (language === "en") {
    return [`${first} is calling`, `your ${RELATIONS_EN[relation.toLowerCase()] ?? relation}`];
  }
  return [`${first} ringer`, `${NEUTER.has(relation.toLowerCase()) ? "dit" : "din"} ${relation}`];
}

/** What the visit is about, for the ringing screen ("" when unknown). */
export function visitLabel(code) {
  return code ? VISITS[language][code] ?? "" : "";
}

/** The current language code. */
export function currentLanguage() {
  return language;
}

// The organisation's time zone (from /api/kiosk/me): the clock shows the same wall time as the
// visit times, whatever zone the device itself is set to. Undefined until known: the device's.
let timeZone = localStorage.getItem("sv.timeZone") || undefined;

/** Follow the organisation's time zone (an IANA name such as "Europe/Copenhagen"). */
export function setTimeZone(zone) {
  if (!zone || zone === timeZone) return;
  try {
    new Intl.DateTimeFormat("da-DK", { timeZone: zone });
  } catch {
    return; // a zone this browser does not know: keep the device's
  }
  timeZone = zone;
  localStorage.setItem("sv.timeZone", zone);
}

/** "Mandag 3. marts" / "Monday 3 March" for the idle screen (``zone`` defaults to the
 * organisation's). */
export function longDate(date, zone = timeZone) {
  const locale = language === "en" ? "en-GB" : "da-DK";
  const options = { weekday: "long", day: "numeric", month: "long", timeZone: zone };
  const text = date.toLocaleDateString(locale, options);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "08:00" in 24-hour time, in the organisation's time zone. */
export function clockTime(date) {
  const options = { hour: "2-digit", minute: "2-digit", timeZone };
  return date.toLocaleTimeString("da-DK", options).replace(".", ":");
}
