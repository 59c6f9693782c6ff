"""Generate the small synthetic English NER data set in data/demo/ (train, dev, test).

    python data/make_demo.py [--out DIR] [--seed N]

Standard library only. The output is fully determined by the seed: running the script again
rewrites the same bytes. Sentences are filled-in templates (news, business, politics, sports,
travel, culture, lists) with entities drawn from the name lists below. Format: one `token TAG`
line per token (single space), a blank line after every sentence, IOB2 tags over PER, LOC, ORG,
MISC.

How the splits differ:
- 20% of the names in every list (except the deliberately ambiguous ones, see AMBIGUOUS) are held
  out: they never occur in train; dev and test draw them for about a third of their entity slots,
  so part of the dev/test entities are names the model has never seen.
- Every sentence (as a token sequence) occurs once in the whole data set: dev/test sentences that
  also occur in train are dropped and regenerated, as are repeats within a split.
- About 3% of the sentences are long (60-120 tokens: match results, squad lists, roll calls,
  clauses joined with "and"/"while") so that windowing of long sentences is exercised.

The data is synthetic and not a benchmark: it shows that the pipeline trains and scores, not how
good a model is on real text.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

SEED = 20240601
SPLITS = (("train", 3000), ("dev", 500), ("test", 500))
HOLDOUT_FRACTION = 0.2  # share of each name list kept out of train
UNSEEN_RATE = 0.35  # in dev/test, chance that an entity slot draws a held-out name
LONG_RATE = 0.025  # share of long (list-like / joined) sentences
LONG_MIN, LONG_MAX = 60, 120
TYPES = ("PER", "LOC", "ORG", "MISC")

# --------------------------------------------------------------------------------------------
# Name lists. Multi-word entries become multi-token entities.


def _names(text: str) -> list[str]:
    """Comma-separated names, in order."""
    return [name.strip() for name in text.split(",")]


FIRST = _names(
    "John, Maria, Ahmed, Fatima, Wei, Yuki, Olga, Pierre, Hans, Giulia, Carlos, Ana, Kwame, "
    "Amara, Raj, Priya, Mohammed, Sofia, Lars, Ingrid, Sean, Siobhan, Diego, Lucia, Ivan, "
    "Natasha, Kenji, Mei, Chinedu, Thabo, Zanele, José, François, Jürgen, Emma, Oliver, "
    "Sarah, David, Laura, Michael, Anna, Thomas, Elena, Peter, Claire, James, Isabel, "
    "Daniel, Nadia, Paul, Hannah, Robert, Leila, Martin, Julia, Andrew, Camille, Stefan, "
    "Marta, Omar, Aisha, Tom, Eva, Luis, Carmen, Hiroshi, Sakura, Arjun, Ananya, Viktor, "
    "Irina, Piotr, Agnieszka, Mehmet, Elif, Nikos, Eleni, Kofi, Abena, Samuel, Grace, "
    "Henrik, Astrid, Patrick, Niamh, Marco, Chiara, Jan, Katarina, Rafael, Beatriz, Jordan, "
    "Chelsea, Sydney, Georgia, Florence, Austin, Madison, Victoria, Milan, May, Mark, Will, "
    "Rose, Bill, Grant, Hope, April, Devon"
)

SURNAMES = _names(
    "Smith, Brown, Müller, Schmidt, Dubois, Martin, Rossi, Bianchi, García, Fernández, "
    "Silva, Costa, Kowalski, Nowak, Ivanov, Petrov, Tanaka, Suzuki, Kim, Park, Lee, Wang, "
    "Li, Chen, Zhang, Singh, Patel, Khan, Hassan, Haddad, Mensah, Okafor, Adeyemi, Mwangi, "
    "Otieno, Nkosi, Dlamini, O'Neill, McCarthy, Murphy, Kelly, Andersson, Johansson, Larsen, "
    "Hansen, Nielsen, Virtanen, Papadopoulos, Yilmaz, Demir, Novak, Horvat, Taylor, Wilson, "
    "Davies, Evans, Roberts, Walker, Wright, Hughes, Young, Hill, Moore, Clarke, Fischer, "
    "Weber, Wagner, Becker, Hoffmann, Moreau, Laurent, Lefebvre, Ricci, Romano, Lopez, "
    "Gonzalez, Pereira, Oliveira, Alves, Gomez, Torres, Ramirez, Morales, Nakamura, "
    "Watanabe, Yamamoto, Gupta, Sharma, Reddy, Rahman, Chowdhury, Nguyen, Tran, Bergman, "
    "Lindqvist, Kaminski, Sokolov, Morozov, Haas, Vogel, Kruger, Botha, Naidoo, Achebe, "
    "Owusu, Baptiste, Leclerc, Duarte, Washington, Jordan, Lincoln, Jackson, Kent, Santos, "
    "Grant, Green, King, van Dijk, de Jong, de la Cruz, Al-Rashid, van der Berg, Mac Donald"
)

CITIES = _names(
    "London, Paris, Berlin, Madrid, Rome, Tokyo, Nairobi, Lagos, Cairo, Amman, Moscow, "
    "Warsaw, Prague, Vienna, Zürich, Geneva, Oslo, Stockholm, Dublin, Glasgow, Manchester, "
    "Leeds, Munich, Hamburg, Frankfurt, Marseille, Seville, Málaga, Lisbon, Athens, "
    "Istanbul, Ankara, Mumbai, Beijing, Shanghai, Seoul, Osaka, Toronto, Montreal, "
    "Vancouver, Chicago, Houston, Denver, Seattle, Miami, Atlanta, Dallas, Lima, Bogota, "
    "Santiago, Quito, Auckland, Perth, Melbourne, Brisbane, Adelaide, Kampala, Accra, Dakar, "
    "Tunis, Casablanca, Riyadh, Doha, Dubai, Karachi, Lahore, Dhaka, Hanoi, Manila, Jakarta, "
    "Bangkok, Helsinki, Copenhagen, Brussels, Antwerp, Rotterdam, Amsterdam, Bordeaux, "
    "Turin, Naples, Krakow, Budapest, Bucharest, Sofia, Belgrade, Zagreb, Gdansk, Valencia, "
    "Bilbao, Washington, Sydney, Florence, Austin, Madison, Lincoln, Jackson, Boston, "
    "Phoenix, Milan, Santos, Victoria, Liverpool, Porto, Lyon, Barcelona, New York, "
    "Sao Paulo, Los Angeles, Rio de Janeiro, Buenos Aires, Hong Kong, Kuala Lumpur, "
    "Cape Town, San Francisco, Tel Aviv, New Delhi, Mexico City, Abu Dhabi, St Petersburg, "
    "Le Havre, The Hague, Salt Lake City, Addis Ababa"
)

COUNTRIES = _names(
    "France, Germany, Spain, Italy, Portugal, Brazil, Argentina, Japan, China, India, "
    "Russia, Poland, Turkey, Kenya, Nigeria, Egypt, Australia, Canada, Mexico, Sweden, "
    "Norway, Denmark, Ireland, Scotland, Greece, Switzerland, Belgium, Austria, Chile, Peru, "
    "Colombia, Ghana, Senegal, Morocco, Tunisia, Qatar, Pakistan, Bangladesh, Vietnam, "
    "Thailand, Indonesia, Malaysia, Finland, Hungary, Romania, Bulgaria, Serbia, Croatia, "
    "Ukraine, Israel, Lebanon, Iceland, Uruguay, Jordan, Georgia, United States, "
    "United Kingdom, New Zealand, South Africa, Czech Republic, Saudi Arabia, Ivory Coast, "
    "Sri Lanka, Costa Rica, South Korea, United Arab Emirates"
)

REGIONS = _names(
    "Bavaria, Catalonia, Texas, California, Ontario, Queensland, Patagonia, Siberia, "
    "Tuscany, Normandy, Kent, Devon, Virginia, Florida, Punjab, Kashmir, Andalusia, "
    "Provence, Yorkshire, Lombardy, Flanders, Quebec, Alberta, Hokkaido, Georgia, Cornwall, "
    "Saxony, Galicia, Middle East, West Bank, Latin America, Southeast Asia, East Africa, "
    "Rhine Valley, Basque Country, New South Wales, British Columbia, Gulf Coast, "
    "Upper Nile"
)

COMPANIES = [
    "Northwind Inc", "Halden Group", "Vireo Systems", "Corvan Motors", "Meridian Energy",
    "Brightwater Foods", "Kestrel Technologies", "Lumora", "Zentrix", "Quadrant Holdings",
    "Silverline Steel", "Redhill Pharmaceuticals", "Bluestone Corp", "Oakridge Telecom",
    "Pinecrest Ltd", "Tavira SA", "Nordhafen AG", "Alder & Finch plc", "Caldera Mining",
    "Solvent Labs", "Greyfield Insurance", "Marlowe Retail", "Ironbridge Capital", "Aurelia Inc",
    "Tessaro Foods", "Velden Chemicals", "Harbourline Shipping", "Crestmoor Group", "Obsidian Corp",
    "Petrova Oil", "Sundara Textiles", "Kairo Electronics", "Westmark Media", "Belmonte SpA",
    "Yamato Heavy Industries", "Lindqvist AB", "Okoro Holdings", "Rio Verde Agro", "Cobalt Ridge Inc",
    "Halcyon Biotech", "Phoenix Group", "Jordan Telecom", "Lincoln Motors", "Victoria Foods",
    "Washington Mutual Trust", "Boston Harbor Foods",
]

BANKS = [
    "Bank of England", "European Central Bank", "Federal Reserve", "Bank of Japan",
    "Deutsche Bank", "Halden Bank", "Banco Atlantico", "First Meridian Bank", "Arab Bank",
    "Credit Alpine", "Nordic Savings Bank", "Bank of Canada", "Reserve Bank of India",
    "Banque Lemaire", "Pacific Trust Bank", "Central Bank of Jordan", "World Bank",
    "International Monetary Fund",
]

CLUBS = [
    "Chelsea", "Arsenal", "Liverpool", "Manchester United", "Leeds United", "Celtic", "Rangers",
    "Bayern Munich", "Borussia Dortmund", "Hamburg SV", "Ajax", "PSV Eindhoven", "Benfica", "Porto",
    "Santos", "Flamengo", "Boca Juniors", "River Plate", "AC Milan", "Inter Milan", "Juventus",
    "Napoli", "Lyon", "Marseille", "Barcelona", "Sevilla", "Galatasaray", "Boston Celtics",
    "Chicago Bulls", "Washington Wizards", "Toronto Raptors", "Sydney FC", "Melbourne Victory",
    "Auckland City", "Kaizer Chiefs", "Al Ahly", "Dynamo Kiev", "Sparta Prague", "Red Star Belgrade",
    "Feyenoord", "Anderlecht", "Olympiakos",
]

UNIVERSITIES = [
    "University of Washington", "University of Sydney", "Oxford University", "Harvard University",
    "University of Lagos", "Technical University of Munich", "Sorbonne", "Kyoto University",
    "McGill University", "University of Cape Town", "Georgia Tech", "Trinity College Dublin",
    "Lincoln University", "University of Nairobi", "ETH Zürich", "Seoul National University",
    "University of Buenos Aires", "Delft University of Technology", "Jagiellonian University",
    "Austin Community College",
]

PARTIES = [
    "Labour Party", "Conservative Party", "Social Democrats", "Green Party", "Liberal Democrats",
    "National Front", "Christian Democratic Union", "Democratic Party", "Republican Party",
    "People 's Party", "Freedom Party", "Workers ' Party", "Socialist Party", "Centre Party",
    "Progress Party",
]

AGENCIES = [
    "United Nations", "Red Cross", "World Health Organisation", "European Commission", "Interpol",
    "NATO", "European Union", "African Union", "Coast Guard", "Ministry of Defence",
    "Environment Agency", "UNICEF", "Amnesty International", "Greenpeace", "FIFA",
    "International Olympic Committee", "Met Office", "Home Office",
]

MEDIA = [
    "Daily Courier", "Radio Nord", "Channel 9 News", "Washington Post", "Financial Chronicle",
    "Le Matin", "Der Abend", "El Diario", "Sydney Herald", "Evening Standard", "Radio Kenya",
    "Morning Gazette", "Tokyo Shimbun", "Gulf Times", "The Observer", "Global Wire",
]

AIRLINES = [
    "Air Meridian", "Pacific Star Airlines", "Nordic Air", "Atlas Airways", "Sky Lanka",
    "Aer Celt", "Andes Air", "Sahara Airways", "Northwind Airlines", "Jordan Air",
]

NATIONALITIES = _names(
    "American, British, German, French, Spanish, Italian, Dutch, Brazilian, Argentine, "
    "Japanese, Chinese, Indian, Russian, Polish, Turkish, Kenyan, Nigerian, Egyptian, "
    "Jordanian, Australian, Canadian, Mexican, Swedish, Norwegian, Danish, Irish, Scottish, "
    "Greek, Portuguese, Saudi, Korean, Swiss, Belgian, Austrian, Czech, Chilean, Ghanaian, "
    "Moroccan, Finnish, Hungarian, Ukrainian, Israeli, Welsh, English, South African, "
    "Sri Lankan, New Zealander"
)

SPORT_EVENTS = [
    "World Cup", "Olympic Games", "Tour de France", "Champions League", "Monaco Grand Prix",
    "Australian Open", "Six Nations", "Davis Cup", "Ryder Cup", "Winter Olympics",
    "Commonwealth Games", "Europa League", "Copa America", "Africa Cup of Nations", "Asian Games",
    "Boston Marathon", "London Marathon", "US Open", "Rugby World Cup", "Super Bowl",
    "Pan American Games", "European Championship",
]

OTHER_EVENTS = [
    "Paris Air Show", "Cannes Film Festival", "Frankfurt Book Fair", "Geneva Motor Show",
    "G20 summit", "World Economic Forum", "Venice Biennale", "Edinburgh Festival",
    "Mobile World Congress", "Oktoberfest", "Hajj", "Eurovision Song Contest",
]

AWARDS = [
    "Nobel Prize", "Booker Prize", "Pulitzer Prize", "Golden Globe", "Ballon d'Or", "Palme d'Or",
    "Turner Prize", "Grammy", "Goncourt Prize", "Man Booker International Prize",
]

LANGUAGES = _names(
    "English, French, German, Spanish, Portuguese, Arabic, Mandarin, Hindi, Swahili, "
    "Russian, Japanese, Italian, Dutch, Polish, Turkish, Korean, Greek, Swedish, Welsh, "
    "Catalan, Basque, Yoruba, Urdu, Bengali, Finnish"
)

PRODUCTS = [
    "Aurora 5", "Zephyr Pro", "Kestrel XL", "Pulse Mini", "Orion 7", "Vega S", "Helix One",
    "Atlas 300", "Lumen Air", "Titan GT", "Nimbus 2", "Quantum Book", "Corvan C4", "Stratus X",
    "Meridian Go", "Nova Tab", "Echo Dot", "Falcon 9", "Boreal 360", "Cirrus Lite", "Polaris Max",
    "Sable Z", "Zentrix Cloud", "Harmony OS",
]

# (entity type, entries) for every list that a template slot can draw from.
POOLS: dict[str, tuple[str, list[str]]] = {
    "FIRST": ("PER", FIRST),
    "SUR": ("PER", SURNAMES),
    "CITY": ("LOC", CITIES),
    "COUNTRY": ("LOC", COUNTRIES),
    "REGION": ("LOC", REGIONS),
    "COMPANY": ("ORG", COMPANIES),
    "BANK": ("ORG", BANKS),
    "CLUB": ("ORG", CLUBS),
    "UNI": ("ORG", UNIVERSITIES),
    "PARTY": ("ORG", PARTIES),
    "AGENCY": ("ORG", AGENCIES),
    "MEDIA": ("ORG", MEDIA),
    "AIRLINE": ("ORG", AIRLINES),
    "NAT": ("MISC", NATIONALITIES),
    "SPORTEV": ("MISC", SPORT_EVENTS),
    "FAIR": ("MISC", OTHER_EVENTS),
    "AWARD": ("MISC", AWARDS),
    "LANG": ("MISC", LANGUAGES),
    "PRODUCT": ("MISC", PRODUCTS),
}

# Entries that carry the ambiguity (the same word as PER, LOC, ORG or MISC in different
# sentences). They are never held out, so train shows every reading.
AMBIGUOUS = frozenset(
    _names(
        "Washington, Jordan, Lincoln, Jackson, Kent, Santos, Grant, Green, King, Chelsea, Sydney, "
        "Georgia, Florence, Austin, Madison, Victoria, Milan, May, Mark, Will, Rose, Bill, Hope, "
        "April, Devon, Liverpool, Porto, Lyon, Barcelona, Marseille, Boston, Phoenix, English, "
        "German, French, Spanish, Portuguese, Russian, Japanese, Italian, Dutch, Polish, Turkish, "
        "Korean, Greek, Swedish, Welsh, Finnish, Phoenix Group, Jordan Telecom, Lincoln Motors, "
        "Victoria Foods, Washington Mutual Trust, Boston Harbor Foods, Central Bank of Jordan, "
        "Washington Wizards, Boston Celtics, University of Washington, University of Sydney, "
        "Georgia Tech, Lincoln University, Austin Community College, Washington Post, "
        "Sydney Herald, Jordan Air, AC Milan, Inter Milan, Melbourne Victory, Green Party, "
        "Boston Marathon, Sydney FC"
    )
)

# Composite slots: (pool, weight) choices.
COMPOSITE = {
    "LOC": (("CITY", 5), ("COUNTRY", 3), ("REGION", 2)),
    "ORG": (("COMPANY", 4), ("BANK", 1), ("CLUB", 1), ("UNI", 1), ("PARTY", 1), ("AGENCY", 2),
            ("MEDIA", 1)),
    "EVENT": (("SPORTEV", 1), ("FAIR", 1)),
    "MISC": (("NAT", 3), ("SPORTEV", 1), ("FAIR", 1), ("LANG", 1), ("PRODUCT", 2), ("AWARD", 1)),
}

# --------------------------------------------------------------------------------------------
# Templates. Tokens are separated by spaces; `{SLOT}` is an entity or value slot; `[a|b|c]`
# picks one alternative (alternatives may hold slots). A leading `!` upper-cases the sentence
# (headline style).

TEMPLATES = [
    # business
    ("{PER} , chief executive of {COMPANY} , said on {DAY} that the company would "
     "[cut|add|create] {BIG} jobs in {LOC} ."),
    ("{COMPANY} shares [rose|fell|jumped|slipped] {PCT} percent to {PRICE} in {CITY} trading "
     "on {DAY} ."),
    "{COMPANY} said it had agreed to buy {NAT} rival {COMPANY} for {MONEY} .",
    "Analysts at {BANK} expect {COUNTRY} 's economy to grow {PCT} percent in {YEAR} .",
    ("The {BANK} [left|kept] interest rates unchanged at {PCT} percent on {DAY} , {MEDIA} "
     "reported ."),
    ("{COMPANY} will launch the {PRODUCT} in {COUNTRY} and {COUNTRY} in {MONTH} , a "
     "[spokeswoman|spokesman] said ."),
    ("Speaking in {LANG} , {SUR} told reporters in {CITY} that the {PRODUCT} had sold {BIG} "
     "units ."),
    "{PER} , a spokesman for {AGENCY} , declined to comment .",
    ("{ORG} appointed {PER} as its new [chairman|president|finance director|head of research] , "
     "effective {DATE} ."),
    "[Mr|Mrs|Ms|Dr] {SUR} joined {COMPANY} in {YEAR} after {NUM} years at {COMPANY} .",
    "{COMPANY} 's {PRODUCT} is sold in {NUM} countries , including {COUNTRY} and {COUNTRY} .",
    "The {PRODUCT} , made by {COMPANY} , costs {MONEY} in {COUNTRY} .",
    "{ORG} , based in {CITY} , employs about {BIG} people .",
    ("Companies such as {COMPANY} , {COMPANY} and {COMPANY} reported higher profits for the "
     "[first|second|third|fourth] quarter ."),
    "The {NAT} government [will|may] bill {COMPANY} for the clean-up , {SUR} said .",
    "Rose prices in {REGION} rose {PCT} percent in {MONTH} , according to {AGENCY} .",
    # politics and general news
    "{NAT} Prime Minister {PER} arrived in {CITY} on {DAY} for talks with {NAT} officials .",
    "{PER} of the {PARTY} won {PCT} percent of the vote in {REGION} .",
    "The {PARTY} said it would challenge the result in {CITY} , where turnout was {PCT} percent .",
    "{COUNTRY} and {COUNTRY} signed a trade agreement in {CITY} on {DATE} .",
    ("Foreign ministers of {COUNTRY} , {COUNTRY} and {COUNTRY} will meet in {CITY} next week , "
     "{MEDIA} said ."),
    "President {SUR} [will|may] visit {COUNTRY} before the {EVENT} , officials said .",
    ("{AGENCY} officials said {NUM} people were killed when a bus crashed near {CITY} in "
     "{REGION} ."),
    "\" We will not accept this , \" {PER} told {MEDIA} in {CITY} .",
    "\" The talks were constructive , \" said {SUR} , who leads the {NAT} delegation .",
    "{SUR} said : \" It is a good day for {CITY} and for {COUNTRY} \" .",
    "Police in {CITY} arrested {NUM} people after protests outside the {ORG} offices on {DAY} .",
    "According to {MEDIA} , {PER} [will|may] leave {ORG} at the end of {MONTH} .",
    "{SUR} told the {LANG} - language newspaper {MEDIA} that [he|she] would stay .",
    "In {CITY} , {BIG} people gathered to hear {PER} speak about the {EVENT} .",
    "Heavy rain flooded parts of {REGION} and {REGION} on {DAY} , the {AGENCY} said .",
    "{PER} ( {AGE} ) , from {CITY} , was fined {MONEY} .",
    "{PER} 's wife {FIRST} said they would [mark|celebrate] the anniversary in {CITY} .",
    "{PER} will grant {NUM} interviews during the {EVENT} .",
    "!{CITY} {ISODATE}",
    "!{NAT} [minister|premier|president] [resigns|quits|steps down] over {COMPANY} deal",
    # sports
    "{CLUB} beat {CLUB} {SCORE} in the {SPORTEV} on {DAY} .",
    "{PER} scored twice as {CLUB} won {SCORE} at {CLUB} .",
    "{PER} ( {COUNTRY} ) beat {PER} ( {COUNTRY} ) {SET} {SET} .",
    "{PER} ( {COUNTRY} ) beat {PER} ( {COUNTRY} ) {SET} {SET} {SET} .",
    "{SUR} , who joined {CLUB} from {CLUB} in {MONTH} , was named man of the match .",
    "{COUNTRY} will host the {SPORTEV} in {YEAR} , the organisers announced in {CITY} .",
    "{NAT} sprinter {PER} won the 100 metres in {TIME} seconds at the {SPORTEV} .",
    "{CLUB} [manager|coach] {PER} said his team deserved to win .",
    "!{SPORT} - {CLUB} [beat|hold|sink|draw with] {CLUB} .",
    "!{SPORT} - {SUR} [wins|leads|retains title] in {CITY} .",
    "{PER} finished {ORDINAL} in the {SPORTEV} , {NUM} seconds behind {PER} of {COUNTRY} .",
    "{SUR} 's goal in the {MINUTE} minute gave {COUNTRY} a {SCORE} win over {COUNTRY} .",
    "May {DAYNUM} : {CLUB} v {CLUB} ( {CITY} ) .",
    "Will {SUR} return to {CLUB} next season ?",
    "The {SPORTEV} final between {COUNTRY} and {COUNTRY} will be played in {CITY} .",
    "{SUR} , {AGE} , has coached {CLUB} since {YEAR} .",
    "{PER} , {PER} and {PER} were selected for the {NAT} team .",
    "{NAT} and {NAT} fans clashed outside the stadium in {CITY} .",
    "Teams from {COUNTRY} , {COUNTRY} , {COUNTRY} and {COUNTRY} qualified for the {SPORTEV} .",
    "{PER} [signed|agreed] a {NUM} - year contract with {CLUB} on {DAY} .",
    # travel
    "Flights from {CITY} to {CITY} were cancelled on {DAY} because of [snow|fog|a strike] .",
    "{AIRLINE} will start daily flights between {CITY} and {CITY} in {MONTH} .",
    "Tourists visiting {REGION} can take the train from {CITY} to {CITY} in about {NUM} hours .",
    "The {EVENT} attracted {BIG} visitors to {CITY} this year .",
    "{PER} , a {NAT} tourist , was rescued by the {AGENCY} near {CITY} .",
    "Tickets for the {EVENT} in {CITY} go on sale on {DATE} .",
    "{AIRLINE} said passengers travelling to {COUNTRY} should check in {NUM} hours early .",
    # culture, science, education
    "Researchers at {UNI} published a study on {LANG} dialects spoken in {REGION} .",
    "{PER} , professor of economics at {UNI} , said inflation in {COUNTRY} would ease .",
    "The novel , written in {LANG} by {PER} , won the {AWARD} .",
    "{UNI} and {COMPANY} will open a research centre in {CITY} .",
    "{PER} will present the {PRODUCT} at the {FAIR} in {CITY} on {DATE} .",
    "The shortlist for the {AWARD} includes {PER} , {PER} and {PER} .",
    "{PER} was born in {CITY} in {YEAR} and studied at {UNI} .",
    "{FIRST} , a student from {COUNTRY} , speaks {LANG} , {LANG} and {LANG} .",
    "{PER} , who won the {AWARD} in {YEAR} , died in {CITY} on {DAY} aged {AGE} .",
]

SPORTS = ["SOCCER", "TENNIS", "GOLF", "CRICKET", "RUGBY UNION", "BASKETBALL", "ATHLETICS",
          "CYCLING"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
ORDINALS = ["second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]


def _value(rng: random.Random, slot: str) -> list[str] | None:
    """Tokens of a non-entity slot (all tagged O), or None if `slot` is not one."""
    if slot == "DAY":
        return [rng.choice(DAYS)]
    if slot == "MONTH":
        return [rng.choice(MONTHS)]
    if slot == "DATE":
        day, month = str(rng.randint(1, 28)), rng.choice(MONTHS)
        return [month, day] if rng.random() < 0.5 else [day, month]
    if slot == "DAYNUM":
        return [str(rng.randint(1, 31))]
    if slot == "YEAR":
        return [str(rng.randint(1975, 2024))]
    if slot == "ISODATE":
        return [f"{rng.randint(1996, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"]
    if slot == "NUM":
        return [str(rng.randint(2, 40))]
    if slot == "AGE":
        return [str(rng.randint(19, 88))]
    if slot == "BIG":
        n = rng.randint(100, 25000)
        return [f"{n:,}" if n >= 1000 else str(n)]
    if slot == "PCT":
        return [f"{rng.randint(0, 14)}.{rng.randint(0, 9)}"]
    if slot == "PRICE":
        return [f"{rng.randint(1, 400)}.{rng.randint(0, 99):02d}"]
    if slot == "MONEY":
        if rng.random() < 0.6:
            amount = str(rng.randint(1, 99))
        else:
            amount = f"{rng.randint(1, 9)}.{rng.randint(1, 9)}"
        unit = rng.choice(["million", "billion"])
        form = rng.randrange(3)
        if form == 0:
            return ["$", amount, unit]
        if form == 1:
            return [amount, unit, rng.choice(["euros", "pounds", "dollars", "yen"])]
        return ["£", amount, unit]
    if slot == "SCORE":
        return [f"{rng.randint(0, 5)}-{rng.randint(0, 4)}"]
    if slot == "SET":
        return [rng.choice(["6-3", "6-4", "7-5", "6-2", "7-6", "6-1", "4-6", "3-6", "6-0"])]
    if slot == "TIME":
        return [f"{rng.randint(9, 10)}.{rng.randint(0, 99):02d}"]
    if slot == "ORDINAL":
        return [rng.choice(ORDINALS)]
    if slot == "MINUTE":
        n = rng.randint(2, 90)
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return [f"{n}{suffix}"]
    if slot == "SPORT":
        return rng.choice(SPORTS).split()
    return None


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: dict[str, list[str]] = {}
        self.unseen: dict[str, list[str]] = {}
        for name, (_, items) in POOLS.items():
            order = list(items)
            self.rng.shuffle(order)
            candidates = [item for item in order if item not in AMBIGUOUS]
            held = set(candidates[: int(len(candidates) * HOLDOUT_FRACTION)])
            self.seen[name] = [item for item in items if item not in held]
            self.unseen[name] = [item for item in items if item in held]

    # -- slots --------------------------------------------------------------------------------

    def pick(self, pool: str, split: str) -> str:
        unseen = self.unseen[pool]
        if split != "train" and unseen and self.rng.random() < UNSEEN_RATE:
            return self.rng.choice(unseen)
        return self.rng.choice(self.seen[pool])

    def person(self, split: str) -> list[str]:
        r = self.rng.random()
        if r < 0.08:
            return self.pick("SUR", split).split()
        first = self.pick("FIRST", split)
        surname = self.pick("SUR", split)
        if r < 0.15:
            return [first, self.rng.choice("ABCDEFGHJKLMNPRSTW") + ".", *surname.split()]
        return [first, *surname.split()]

    def entity(self, slot: str, split: str) -> tuple[str, list[str]] | None:
        if slot == "PER":
            return "PER", self.person(split)
        if slot in COMPOSITE:
            names = [name for name, _ in COMPOSITE[slot]]
            weights = [weight for _, weight in COMPOSITE[slot]]
            slot = self.rng.choices(names, weights)[0]
        if slot in POOLS:
            return POOLS[slot][0], self.pick(slot, split).split()
        return None

    def fill(self, slot: str, split: str) -> list[tuple[str, str]]:
        found = self.entity(slot, split)
        if found is not None:
            entity_type, tokens = found
            return [(tok, ("B-" if i == 0 else "I-") + entity_type) for i, tok in enumerate(tokens)]
        values = _value(self.rng, slot)
        if values is None:
            raise ValueError(f"unknown template slot {{{slot}}}")
        return [(tok, "O") for tok in values]

    def expand(self, template: str, split: str) -> list[tuple[str, str]]:
        upper = template.startswith("!")
        if upper:
            template = template[1:]
        template = re.sub(
            r"\[([^\[\]]*)\]", lambda m: self.rng.choice(m.group(1).split("|")), template
        )
        out: list[tuple[str, str]] = []
        for word in template.split():
            if word.startswith("{") and word.endswith("}"):
                out.extend(self.fill(word[1:-1], split))
            else:
                out.append((word, "O"))
        if upper:
            out = [(tok.upper(), tag) for tok, tag in out]
        return out

    # -- sentences ----------------------------------------------------------------------------

    def long_sentence(self, split: str) -> list[tuple[str, str]]:
        """A list-like or joined sentence of LONG_MIN..LONG_MAX tokens."""
        while True:
            target = self.rng.randint(LONG_MIN, LONG_MAX - 15)
            kind = self.rng.randrange(4)
            if kind == 0:  # match results
                head = "{SPORTEV} results on {DAY} :"
                items = ["{CLUB} {SCORE} {CLUB}", "{CLUB} {SCORE} {CLUB} ( {SUR} {MINUTE} )"]
                sep, last, tail = " , ", " , ", " ."
            elif kind == 1:  # squad list
                head = "{NAT} squad for the {SPORTEV} [announced on {DAY}|] :"
                items = ["{PER} ( {CLUB} )"] * 4 + ["{PER} ( {CLUB} , captain )", "{PER}"]
                sep, last, tail = " , ", " , ", " ."
            elif kind == 2:  # roll call
                head = "[Delegates|Ministers|Officials] from"
                items = ["{COUNTRY}"] * 4 + ["{AGENCY}", "{BANK}", "{REGION}"]
                sep, last = " , ", " and "
                tail = " met in {CITY} on {DAY} to discuss the {EVENT} , {MEDIA} reported ."
            else:  # clauses joined with "and" / "while"
                head = ""
                items = [t[:-2] for t in TEMPLATES if t.endswith(" .") and not t.startswith("!")]
                sep, last, tail = " , [and|while|but] ", " , and ", " ."
            pieces = [self.rng.choice(items)]
            tokens = self.expand(head + " " + pieces[0] + tail, split)
            while len(tokens) < target:
                pieces.append(self.rng.choice(items))
                body = sep.join(pieces[:-1]) + last + pieces[-1]
                tokens = self.expand(head + " " + body + tail, split)
            if LONG_MIN <= len(tokens) <= LONG_MAX:
                return tokens

    def sentence(self, split: str) -> list[tuple[str, str]]:
        if self.rng.random() < LONG_RATE:
            return self.long_sentence(split)
        return self.expand(self.rng.choice(TEMPLATES), split)


def generate(seed: int = SEED) -> dict[str, list[list[tuple[str, str]]]]:
    """All splits, in SPLITS order; no token sequence occurs twice in the whole data set."""
    gen = Generator(seed)
    used: set[tuple[str, ...]] = set()
    splits: dict[str, list[list[tuple[str, str]]]] = {}
    for split, size in SPLITS:
        sentences: list[list[tuple[str, str]]] = []
        while len(sentences) < size:
            sentence = gen.sentence(split)
            key = tuple(tok for tok, _ in sentence)
            if key in used:
                continue
            used.add(key)
            sentences.append(sentence)
        splits[split] = sentences
    return splits


def render(sentences: list[list[tuple[str, str]]]) -> str:
    return "".join("".join(f"{tok} {tag}\n" for tok, tag in s) + "\n" for s in sentences)


def entities(sentence: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(type, surface) of every IOB2 chunk."""
    found: list[tuple[str, str]] = []
    current: list[str] = []
    current_type = ""
    for tok, tag in [*sentence, ("", "O")]:
        if current and not tag.startswith("I-"):
            found.append((current_type, " ".join(current)))
            current = []
        if tag.startswith("B-"):
            current, current_type = [tok], tag[2:]
        elif tag.startswith("I-"):
            current.append(tok)
    return found


def stats(splits: dict[str, list[list[tuple[str, str]]]]) -> str:
    """Markdown tables of the sizes per split (the numbers quoted in data/README.md)."""
    train_mentions = {e for s in splits["train"] for e in entities(s)}
    train_words = {tok for s in splits["train"] for tok, _ in s}
    sizes = [
        "| split | sentences | tokens | tokens/sentence | longest | sentences >= 60 tokens |",
        "|---|---|---|---|---|---|",
    ]
    counts = [
        "| split | " + " | ".join(TYPES) + " | all entities | surface not an entity in train "
        "| with a word absent from train |",
        "|---|" + "---|" * (len(TYPES) + 3),
    ]
    for split, sentences in splits.items():
        n_tokens = sum(len(s) for s in sentences)
        n_long = sum(1 for s in sentences if len(s) >= LONG_MIN)
        sizes.append(
            f"| {split} | {len(sentences)} | {n_tokens} | {n_tokens / len(sentences):.1f} | "
            f"{max(len(s) for s in sentences)} | {n_long} |"
        )
        mentions = [e for s in sentences for e in entities(s)]
        per_type = [sum(1 for t, _ in mentions if t == ty) for ty in TYPES]
        if split == "train":
            new_surface = new_word = "-"
        else:
            new_surface = str(sum(1 for e in mentions if e not in train_mentions))
            new_word = str(
                sum(1 for _, text in mentions if any(w not in train_words for w in text.split()))
            )
        counts.append(
            f"| {split} | " + " | ".join(str(n) for n in per_type)
            + f" | {len(mentions)} | {new_surface} | {new_word} |"
        )
    return "\n".join(sizes) + "\n\n" + "\n".join(counts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "demo",
                        help="output folder (default: demo/ next to this script)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args(argv)
    splits = generate(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for split, sentences in splits.items():
        with open(args.out / f"{split}.conll", "w", encoding="utf-8", newline="\n") as f:
            f.write(render(sentences))
    print(f"wrote {', '.join(f'{s}.conll' for s in splits)} to {args.out}")
    print(stats(splits))


if __name__ == "__main__":
    main()
