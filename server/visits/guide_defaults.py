"""The built-in guided scripts, by visit-type code, in plain Danish with an English translation.

Written for a nurse reading beside the video: short, warm, one thing per line. ``confirm``
steps are what the nurse sees happen and ticks (stored with the outcome); ``prompt`` steps are
what she says or asks. ``guides.py`` validates these like an administrator's own scripts.
"""

from __future__ import annotations

from typing import Any

Raw = dict[str, Any]


def _text(da: str, en: str) -> Raw:
    return {"da": da, "en": en}


def _confirm(da: str, en: str) -> Raw:
    return {"kind": "confirm", "text": _text(da, en)}


def _prompt(da: str, en: str) -> Raw:
    return {"kind": "prompt", "text": _text(da, en)}


NEXT_TIME = _confirm(
    "Aftalt, hvornår vi ses eller høres næste gang",
    "Agreed when we next see or hear each other",
)
HOW_ARE_YOU = _prompt("Hvordan har du det i dag?", "How are you today?")

WAKE_UP: Raw = {
    "intro": _text(
        "Godmorgen-opkald: hjælp borgeren i gang med dagen i sit eget tempo.",
        "Good-morning call: help the citizen get the day started at their own pace.",
    ),
    "steps": [
        _prompt("Godmorgen! Hvordan har du sovet?", "Good morning! How did you sleep?"),
        _confirm(
            "Borgeren er vågen og sidder op i sengen eller er stået op",
            "The citizen is awake and sitting up in bed or out of bed",
        ),
        _prompt(
            "Har du ondt nogen steder, eller er du svimmel?",
            "Are you in pain anywhere, or are you dizzy?",
        ),
        _confirm("Borgeren har fået noget at drikke", "The citizen has had something to drink"),
        _prompt("Hvad skal du lave i dag?", "What are you going to do today?"),
        _confirm(
            "Borgeren ved, hvornår der kommer nogen næste gang",
            "The citizen knows when someone comes next",
        ),
    ],
    "note": _text(
        "Giv god tid, og tal roligt. Mind om at sidde lidt på sengekanten, inden man rejser sig.",
        "Allow plenty of time and speak calmly. Remind the citizen to sit on the edge of the "
        "bed for a moment before standing up.",
    ),
}

MEAL_DRINK: Raw = {
    "intro": _text(
        "Et venligt opkald om mad og drikke: spørg, lyt, og mind om at spise og drikke.",
        "A friendly call about food and drink: ask, listen, and remind the citizen to eat "
        "and drink.",
    ),
    "steps": [
        _prompt("Hvad har du fået at spise i dag?", "What have you had to eat today?"),
        _prompt(
            "Har du lyst til at spise? Smager maden, som den plejer?",
            "Do you feel like eating? Does the food taste as usual?",
        ),
        _confirm(
            "Borgeren har mad klar eller ved, hvad der skal spises nu",
            "The citizen has food ready or knows what to eat now",
        ),
        _confirm(
            "Borgeren drikker et glas vand eller anden drikke, mens vi taler",
            "The citizen drinks a glass of water or something else while we talk",
        ),
        _prompt(
            "Er der mad nok i køleskabet til i morgen?",
            "Is there enough food in the fridge for tomorrow?",
        ),
    ],
    "note": _text(
        "Spiser eller drikker borgeren kun lidt, så notér det under observationer.",
        "If the citizen eats or drinks only a little, note it under observations.",
    ),
}

STRUCTURE: Raw = {
    "intro": _text(
        "Et kort opkald, der giver dagen struktur: hvad er sket, og hvad skal der ske nu?",
        "A short call that gives the day structure: what has happened, and what happens next?",
    ),
    "steps": [
        _prompt(
            "Sig, hvilken dag det er, og hvad klokken er.",
            "Say what day it is and what time it is.",
        ),
        _prompt(
            "Hvad har du lavet, siden vi sidst talte sammen?",
            "What have you done since we last talked?",
        ),
        _confirm(
            "Dagens aftaler er gennemgået (fx besøg, læge, frisør)",
            "Today's appointments have been gone through (e.g. visits, doctor, hairdresser)",
        ),
        _confirm(
            "Borgeren er mindet om det næste, der skal ske (fx spise, tage tøj på, gå en tur)",
            "The citizen has been reminded of what comes next (e.g. eating, getting dressed, "
            "a walk)",
        ),
        _confirm(
            "Borgeren har sagt det vigtigste igen med egne ord",
            "The citizen has repeated the main point in their own words",
        ),
        _confirm(
            "Borgeren ved, hvornår vi ringer igen", "The citizen knows when we will call again"
        ),
    ],
    "note": _text(
        "Én ting ad gangen og korte sætninger. Brug gerne kalenderen eller tavlen i hjemmet.",
        "One thing at a time, in short sentences. Use the calendar or whiteboard in the home "
        "if there is one.",
    ),
}

REASSURANCE: Raw = {
    "intro": _text(
        "Et kort, trygt opkald: lyt, spørg åbent, og aftal hvornår I ses eller høres næste gang.",
        "A short, reassuring call: listen, ask open questions, and agree when you will next "
        "see or hear each other.",
    ),
    "steps": [
        HOW_ARE_YOU,
        _prompt("Hvordan har du sovet?", "How did you sleep?"),
        _prompt(
            "Har du fået noget at spise og drikke i dag?",
            "Have you had something to eat and drink today?",
        ),
        _prompt("Er der noget, du er bekymret for?", "Is there anything you are worried about?"),
        _confirm(
            "Borgeren ved, hvordan hjemmeplejen kan kontaktes",
            "The citizen knows how to contact home care",
        ),
        NEXT_TIME,
    ],
    "note": _text(
        "Hjemmeplejen er kun et opkald væk. Lyt efter ensomhed, uro eller forandringer, og "
        "notér dem under observationer.",
        "Home care is only a call away. Listen for loneliness, unease or changes, and note "
        "them under observations.",
    ),
    "dignity_wheel": True,
}

BATH: Raw = {
    "intro": _text(
        "Borgeren bader selv; du guider med ord, så badet bliver trygt.",
        "The citizen bathes on their own; you guide with words so the bath is safe.",
    ),
    "steps": [
        _confirm(
            "Skridsikker måtte og håndtag er på plads", "Non-slip mat and grab rails are in place"
        ),
        _confirm(
            "Vandets temperatur er mærket med hånden først",
            "The water temperature has been tested by hand first",
        ),
        _prompt(
            "Sid ned på badestolen, mens du vasker dig.", "Sit on the shower chair while you wash."
        ),
        _confirm("Håndklæde og tøj er inden for rækkevidde", "Towel and clothes are within reach"),
        _prompt(
            "Rejs dig langsomt – sig til, hvis du bliver svimmel.",
            "Stand up slowly – tell me if you feel dizzy.",
        ),
        _confirm(
            "Borgeren er ude af badet, tør og har tøj på",
            "The citizen is out of the bath, dry and dressed",
        ),
    ],
    "note": _text(
        "Borgerens kamera er slukket under badet. Lyden bærer besøget.",
        "The citizen's camera is off during the bath. Sound carries the visit.",
    ),
}

MEDICATION: Raw = {
    "intro": _text(
        "Borgeren tager selv sin medicin; du ser med og guider.",
        "The citizen takes their own medicine; you watch and guide.",
    ),
    "steps": [
        _confirm(
            "Doseringsæsken er klar, og det er den rigtige dag og det rigtige tidspunkt",
            "The dosette box is ready, and it is the right day and the right time",
        ),
        _confirm(
            "Borgeren åbner rummet og hælder tabletterne i hånden",
            "The citizen opens the compartment and tips the tablets into their hand",
        ),
        _confirm(
            "Tabletterne bliver taget og synket med vand",
            "The tablets are taken and swallowed with water",
        ),
        _confirm("Rummet er tomt bagefter", "The compartment is empty afterwards"),
        _confirm(
            "Spørg til bivirkninger, svimmelhed eller ændringer",
            "Ask about side effects, dizziness or changes",
        ),
    ],
    "note": _text(
        "Ser doseringsæsken forkert ud, eller mangler der tabletter, så stop og aftal et "
        "fysisk besøg.",
        "If the dosette box looks wrong or tablets are missing, stop and arrange a physical visit.",
    ),
}

BLOOD_SUGAR: Raw = {
    "intro": _text(
        "Borgeren måler selv sit blodsukker; du guider og skriver værdien ned.",
        "The citizen measures their own blood sugar; you guide and write down the value.",
    ),
    "steps": [
        _confirm("Hænderne er vasket og tørret", "Hands are washed and dried"),
        _prompt(
            "Stik i siden af fingeren, og sæt bloddråben på strimlen.",
            "Prick the side of a finger and put the drop of blood on the strip.",
        ),
        _prompt("Læs værdien højt for mig.", "Read the value out loud to me."),
        _confirm("Værdien er skrevet i feltet nedenfor", "The value is written in the field below"),
        _prompt(
            "Hvordan har du det? Er du sulten, træt eller rystende?",
            "How do you feel? Are you hungry, tired or shaky?",
        ),
    ],
    "note": _text(
        "Ved en meget lav eller høj værdi: følg borgerens plan, og notér, hvad I aftaler.",
        "If the value is very low or very high: follow the citizen's plan and note what you agree.",
    ),
    "measurement": "blood_sugar",
}

VISITATION_MEETING: Raw = {
    "intro": _text(
        "Et møde om borgerens hjælp. Borgerens ønsker kommer først; slut af med, hvad vi "
        "aftaler i dag.",
        "A meeting about the citizen's help. The citizen's wishes come first; finish with "
        "what we agree today.",
    ),
    "steps": [
        _confirm("Alle deltagere er præsenteret", "Everyone taking part has been introduced"),
        _prompt(
            "Hvad er vigtigt for dig i din hverdag?", "What matters to you in your everyday life?"
        ),
        _prompt(
            "Hvad kan du selv, og hvor vil du gerne have hjælp?",
            "What can you do yourself, and where would you like help?",
        ),
        _confirm(
            "Aftalerne er læst op: hvad borgeren gør, og hvad kommunen gør",
            "The agreements have been read out: what the citizen does and what the "
            "municipality does",
        ),
        _confirm(
            "Borgeren ved, hvem der kan kontaktes, og på hvilket nummer",
            "The citizen knows whom to contact and on which number",
        ),
    ],
    "dignity_wheel": True,
}

# Any other visit type, and a call without a planned visit.
GENERAL_SCRIPT: Raw = {
    "intro": _text(
        "Hils, og sig kort, hvorfor du ringer. Lyt, spørg åbent, og aftal det næste.",
        "Say hello and briefly say why you are calling. Listen, ask open questions, and agree "
        "the next step.",
    ),
    "steps": [
        HOW_ARE_YOU,
        _prompt(
            "Er der noget, du gerne vil tale om?", "Is there anything you would like to talk about?"
        ),
        _confirm(
            "Borgeren har forstået, hvad vi har aftalt",
            "The citizen has understood what we agreed",
        ),
        NEXT_TIME,
    ],
    "dignity_wheel": True,
}

DEFAULT_SCRIPTS: dict[str, Raw] = {
    "wake_up": WAKE_UP,
    "meal_drink": MEAL_DRINK,
    "structure": STRUCTURE,
    "reassurance": REASSURANCE,
    "bath": BATH,
    "medication": MEDICATION,
    "blood_sugar": BLOOD_SUGAR,
    "visitation_meeting": VISITATION_MEETING,
}
