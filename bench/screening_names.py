"""Name cultures and name variations for bench/screening.py (not a bench of its own).

The roster's physicians come from several name cultures, each with its own surname and first-name pools
(Zipf-like weights: a few very common names, a long tail) and its own habits: Hispanic names with their
accents (kept by some rosters, stripped by others) and hyphenated double surnames; Vietnamese family names
(a third of them NGUYEN) with VAN / THI middle names; long South Indian names that the LEIE's field widths
cut; East Asian two-letter surnames and Western first names; suffixes (Jr, III) and maiden names kept as
former last names. The variations a list row can carry (a typo, a nickname, a DOB one keystroke off ...)
are made here too, from the bench's own tables: nothing is read from the matcher.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import unicodedata
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# text helpers
# --------------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Upper-case ASCII, as the publishers print names."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


def is_ascii(text: str | None) -> bool:
    return not text or text.isascii()


def ymd(d: dt.date) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def digits_differing(a: dt.date, b: dt.date) -> int:
    return sum(x != y for x, y in zip(ymd(a), ymd(b), strict=True))


def transposed(a: dt.date, b: dt.date) -> bool:
    """``b`` is ``a`` with day and month swapped (and differs from it)."""
    return a != b and a.year == b.year and a.month == b.day and a.day == b.month


def one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by exactly one substitution, insertion, deletion or adjacent transposition."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
TYPO_KINDS = ("substitution", "deletion", "insertion", "transposition")


def typo(rng: random.Random, name: str, kind: str) -> str | None:
    """``name`` (upper-case letters) with one keystroke wrong, anywhere in it (BAILEY -> BAILEV, BAILY,
    BAILLEY, BIALEY); None if ``kind`` cannot apply (a transposition needs two different adjacent letters)."""
    if kind == "substitution":
        i = rng.randrange(len(name))
        return name[:i] + rng.choice([c for c in LETTERS if c != name[i]]) + name[i + 1 :]
    if kind == "deletion":
        i = rng.randrange(len(name))
        return name[:i] + name[i + 1 :]
    if kind == "insertion":
        i = rng.randrange(len(name) + 1)
        return name[:i] + rng.choice(LETTERS) + name[i:]
    pairs = [i for i in range(len(name) - 1) if name[i] != name[i + 1]]
    if not pairs:
        return None
    i = rng.choice(pairs)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def dob_typo(rng: random.Random, dob: dt.date) -> dt.date:
    """``dob`` with one digit of YYYYMMDD changed: still a valid date in 1900-2010, not a day/month swap."""
    text = ymd(dob)
    while True:
        i = rng.randrange(8)
        candidate = text[:i] + rng.choice([c for c in "0123456789" if c != text[i]]) + text[i + 1 :]
        try:
            day = dt.date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:]))
        except ValueError:
            continue
        if 1900 <= day.year <= 2010 and not transposed(dob, day):
            return day


def other_dob(rng: random.Random, dob: dt.date) -> dt.date:
    """A clearly different DOB: more than one digit of YYYYMMDD differs, and not a day/month swap."""
    while True:
        day = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(57 * 365))
        if digits_differing(dob, day) > 1 and not transposed(dob, day):
            return day


# --------------------------------------------------------------------------------------------
# nicknames the bench plants (its own table, not the matcher's)
# --------------------------------------------------------------------------------------------

#: (formal name, nickname) pairs in the order the nickname class cycles through them: the pairs the
#: audit named come first (and twice), then other common ones, English, Spanish and South Asian.
PLANTED_NICKNAMES: tuple[tuple[str, str], ...] = (
    ("WILLIAM", "BILL"), ("ROBERT", "BOB"), ("MARGARET", "PEGGY"), ("GUADALUPE", "LUPE"), ("JOSE", "PEPE"),
    ("FRANCISCO", "PACO"), ("IGNACIO", "NACHO"), ("JESUS", "CHUY"), ("ALEJANDRO", "ALEX"),
    ("WILLIAM", "BILL"), ("ROBERT", "BOB"), ("MARGARET", "PEGGY"), ("GUADALUPE", "LUPE"), ("JOSE", "PEPE"),
    ("FRANCISCO", "PACO"), ("IGNACIO", "NACHO"), ("JESUS", "CHUY"), ("ALEJANDRO", "ALEX"),
    ("RICHARD", "DICK"), ("JAMES", "JIM"), ("ELIZABETH", "BETH"), ("KATHERINE", "KATE"), ("ANTHONY", "TONY"),
    ("MICHAEL", "MIKE"), ("THOMAS", "TOM"), ("JOSEPH", "JOE"), ("PATRICIA", "PATTY"), ("EDWARD", "TED"),
    ("CHARLES", "CHUCK"), ("GUILLERMO", "MEMO"), ("EDUARDO", "LALO"), ("DOLORES", "LOLA"),
    ("CONCEPCION", "CONCHA"), ("ROSARIO", "CHARO"), ("ENRIQUE", "KIKE"), ("FRANCISCO", "PANCHO"),
    ("VENKATESH", "VENKAT"), ("SRINIVAS", "SRINI"), ("RAJESH", "RAJ"), ("ROBERT", "BOBBY"),
    ("WILLIAM", "WILL"), ("MARGARET", "MAGGIE"),
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# cultures
# --------------------------------------------------------------------------------------------

#: Common US surnames, roughly by frequency (a few with the accents and apostrophes rosters keep).
COMMON_SURNAMES = """
SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRÍGUEZ MARTÍNEZ HERNÁNDEZ LÓPEZ GONZÁLEZ WILSON
ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PÉREZ THOMPSON WHITE HARRIS SÁNCHEZ CLARK RAMÍREZ LEWIS
ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN HILL FLORES GREEN ADAMS NELSON BAKER HALL RIVERA
CAMPBELL MITCHELL CARTER ROBERTS GÓMEZ PHILLIPS EVANS TURNER DÍAZ PARKER CRUZ EDWARDS COLLINS REYES STEWART
MORRIS MORALES MURPHY COOK ROGERS GUTIÉRREZ ORTIZ MORGAN COOPER PETERSON BAILEY REED KELLY HOWARD RAMOS KIM
COX WARD RICHARDSON WATSON BROOKS CHÁVEZ WOOD JAMES BENNETT GRAY MENDOZA RUIZ HUGHES PRICE ALVAREZ CASTILLO
SANDERS PATEL MYERS LONG ROSS FOSTER JIMÉNEZ POWELL JENKINS PERRY RUSSELL SULLIVAN BELL COLEMAN BUTLER
HENDERSON BARNES GONZALES FISHER VASQUEZ SIMMONS ROMERO JORDAN PATTERSON ALEXANDER HAMILTON GRAHAM REYNOLDS
GRIFFIN WALLACE MORENO WEST COLE HAYES BRYANT HERRERA GIBSON ELLIS TRAN MEDINA AGUILAR STEVENS MURRAY FORD
CASTRO MARSHALL OWENS HARRISON FERNÁNDEZ MCDONALD WOODS WASHINGTON KENNEDY WELLS VARGAS HENRY CHEN FREEMAN
WEBB TUCKER GUZMAN BURNS CRAWFORD OLSON SIMPSON PORTER HUNTER GORDON MENDEZ SILVA SHAW SNYDER MASON DIXON
MUÑOZ HUNT HICKS HOLMES PALMER WAGNER BLACK ROBERTSON BOYD ROSE STONE SALAZAR FOX WARREN MILLS MEYER RICE
SCHMIDT GARZA DANIELS FERGUSON NICHOLS STEPHENS SOTO WEAVER RYAN GARDNER PAYNE GRANT DUNN KELLEY SPENCER
HAWKINS ARNOLD PIERCE VÁZQUEZ HANSEN PETERS SANTOS HART BRADLEY KNIGHT ELLIOTT CUNNINGHAM DUNCAN ARMSTRONG
HUDSON CARROLL LANE RILEY ANDREWS ALVARADO RAY DELGADO BERRY PERKINS HOFFMAN JOHNSTON MATTHEWS PEÑA
RICHARDS CONTRERAS WILLIS CARPENTER LAWRENCE SANDOVAL GUERRERO GEORGE CHAPMAN RIOS ESTRADA ORTEGA WATKINS
GREENE NÚÑEZ WHEELER VALDEZ HARPER BURKE LARSON SANTIAGO MALDONADO MORRISON FRANKLIN CARLSON AUSTIN
DOMINGUEZ CARR LAWSON JACOBS O'BRIEN LYNCH SINGH VEGA BISHOP MONTGOMERY OLIVER JENSEN HARVEY WILLIAMSON
GILBERT CARRILLO WANG LI ZHANG LIU YANG HUANG ZHAO WU ZHOU XU SHAH DESAI MEHTA GUPTA KUMAR REDDY RAO IYER
CHOI PARK KANG CHO YOON JANG LIM HAN O'CONNOR O'NEILL D'ANGELO O'DONNELL MCCARTHY ROSSI RUSSO ESPOSITO
BIANCHI ROMANO COHEN LEVY FRIEDMAN SHAPIRO KAPLAN GOLDBERG NOVAK KOWALSKI NOWAK WIŚNIEWSKI IVANOV PETROV
SMIRNOV MÜLLER SCHNEIDER FISCHER WEBER BECKER SCHULZ OKAFOR OKONKWO ADEYEMI MENSAH HASSAN ALI KHAN AHMED
IBRAHIM HUSSEIN NAKAMURA TANAKA SATO SUZUKI WATANABE YAMAMOTO
""".split()
#: Common first names (physicians of both sexes and many origins), roughly by frequency.
COMMON_GIVEN = """
JAMES MICHAEL ROBERT JOHN DAVID WILLIAM RICHARD JOSEPH THOMAS MARY CHRISTOPHER CHARLES DANIEL MATTHEW
JENNIFER PATRICIA ELIZABETH LINDA ANTHONY MARK DONALD STEVEN PAUL ANDREW JOSHUA BARBARA SUSAN JESSICA SARAH
KAREN KENNETH KEVIN BRIAN GEORGE TIMOTHY RONALD EDWARD JASON JEFFREY RYAN NANCY LISA BETTY MARGARET SANDRA
JACOB GARY NICHOLAS ERIC JONATHAN STEPHEN LARRY JUSTIN SCOTT BRANDON ASHLEY KIMBERLY EMILY DONNA MICHELLE
BENJAMIN SAMUEL GREGORY ALEXANDER FRANK PATRICK RAYMOND JACK DENNIS JERRY CAROL AMANDA MELISSA DEBORAH
STEPHANIE REBECCA SHARON LAURA CYNTHIA KATHLEEN AMY ANGELA TYLER AARON JOSÉ ADAM NATHAN HENRY DOUGLAS
ZACHARY PETER KYLE ETHAN WALTER NOAH JEREMY CHRISTIAN KEITH ROGER TERRY GERALD HAROLD SEAN AUSTIN CARL
ARTHUR LAWRENCE DYLAN JESSE JORDAN BRYAN BILLY JOE BRUCE GABRIEL LOGAN ALBERT WILLIE ALAN JUAN WAYNE ELIJAH
RANDY ROY VINCENT RALPH EUGENE RUSSELL BOBBY MASON PHILIP LOUIS SHIRLEY ANNA BRENDA PAMELA EMMA NICOLE HELEN
SAMANTHA KATHERINE CHRISTINE DEBRA RACHEL CAROLYN JANET CATHERINE MARÍA HEATHER DIANE RUTH JULIE OLIVIA
JOYCE VIRGINIA VICTORIA KELLY LAUREN CHRISTINA JOAN EVELYN JUDITH MEGAN ANDREA CHERYL HANNAH JACQUELINE
MARTHA GLORIA TERESA ANN SARA MADISON FRANCES KATHRYN JANICE JEAN ABIGAIL ALICE JUDY SOPHIA GRACE DENISE
AMBER DORIS MARILYN DANIELLE BEVERLY ISABELLA THERESA DIANA NATALIE BRITTANY CHARLOTTE MARIE KAYLA ALEXIS
LORI PRIYA ANJALI RAHUL AMIT SANJAY RAJESH SUNIL DEEPAK ANIL VIJAY NEHA POOJA WEI MEI LING JING YAN HUI
MIN JUN JI HYUN SEO YOUNG KENJI HIROSHI YUKI AHMED MOHAMMED OMAR ALI FATIMA AISHA LAYLA CARLOS LUIS JORGE
MIGUEL ALEJANDRO LUCÍA SOFÍA ELENA ANA OLGA IRINA SERGEI DMITRI IVAN NIKOLAI CHIDI NNAMDI ADAEZE KWAME
FRANÇOIS ZOË BJÖRN RENÉE ANDRÉ STANLEY LEONARD HERBERT BERNARD FREDERICK THEODORE ELEANOR DOROTHY CLIFFORD
""".split()

#: Synthetic long tail: onset + vowel + consonant + ending, drawn at random so that, as in real data, few
#: pairs share a long prefix (a name built from fewer, shared parts would inflate fuzzy collisions).
_ONSETS = (
    "B BL BR C CH CL CR D DR F FL FR G GL GR H J K KL KR L M N P PL PR R S SH SK SL ST SW T TH TR V W WH Y Z"
).split()
_VOWELS = ["A", "E", "I", "O", "U", "AI", "EA", "OU", "Y"]
_CONSONANTS = "B C D F G K L M N P R S T V Z LL RR SS TT CK ND NT RD RN RT LD LT MB NK".split()
_SURNAME_ENDS = (
    "SON SEN TON LEY FORD WOOD MAN BERG STEIN OV OVA SKI EZ ES INI ETTI AKIS IAN YAN ER ELL OTT ICK AND ARD "
    "ING WORTH FIELD BURN WICK O A I UK ENKO ESCU AR OS IS ALDI"
).split()
_GIVEN_ENDS = "A O IA EN AN ON IN EL ETTE INA ITA IUS ER ICK Y IE ELLE ARD".split()

SURNAME_POOL_SIZE = 20_000
GIVEN_POOL_SIZE = 900
#: Zipf-like weights 1 / (rank + offset): the offsets put the most common surname near 0.5 % and the most
#: common first name near 2.7 %, about the US census figures (SMITH 0.8 %, JAMES ~3 % of men).
SURNAME_OFFSET = 30
GIVEN_OFFSET = 8

HISPANIC_SURNAMES = [
    *"""
García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera Gómez Díaz Cruz
Morales Reyes Gutiérrez Ortiz Chávez Ramos Ruiz Álvarez Mendoza Castillo Jiménez Vásquez Moreno Romero Herrera
Medina Aguilar Vargas Castro Fernández Guzmán Muñoz Méndez Salazar Soto Delgado Peña Ríos Núñez Contreras
Guerrero Sandoval Estrada Ortega Domínguez Cortés Santiago Maldonado Valdez Vega Rojas Navarro Ibáñez Benítez
Márquez Sáenz Ordóñez Quiñones Montaño Castañeda Echeverría Valdés Cárdenas Villanueva Santamaría Valenzuela
Bermúdez Fuentes Carrasco Espinoza Cervantes Zúñiga Velázquez Acosta Figueroa Avendaño Arellano Barrientos
Covarrubias Villaseñor Bustamante Altamirano Montealegre Sepúlveda Alcántara Betancourt Larrañaga Goicoechea
""".split(),
    *["de la Cruz", "de León", "del Valle", "de la Garza", "del Río", "de los Santos"],
]
HISPANIC_GIVEN = """
José María Juan Luis Carlos Jesús Francisco Guadalupe Alejandro Miguel Jorge Antonio Manuel Ricardo Fernando
Eduardo Javier Ignacio Rafael Sergio Roberto Ana Rosa Carmen Lucía Sofía Verónica Mónica Ángela Beatriz Rocío
Inés Ramón Raúl Andrés Martín Héctor Óscar Rubén Germán Joaquín Sebastián Guillermo Enrique Dolores Concepción
Rosario Gabriela Adriana Alejandra Claudia Patricia Marisol Yolanda Leticia Esperanza Maximiliano Encarnación
Purificación Socorro Consuelo Efraín Agustín Tomás Julián Benjamín Nicolás Víctor César Iván Ramiro Gonzalo
""".split()

VIETNAMESE_SURNAMES = {
    "Nguyen": 38, "Tran": 11, "Le": 9.5, "Pham": 7, "Hoang": 5, "Huynh": 5, "Phan": 4.5, "Vu": 3.9, "Vo": 3.9,
    "Dang": 2.1, "Bui": 2, "Truong": 1.5, "Do": 1.4, "Ho": 1.3, "Ngo": 1.3, "Duong": 1, "Dinh": 1, "Lam": 1,
    "Ly": 0.5, "Mai": 0.5, "Cao": 0.5, "Trinh": 0.5, "Doan": 0.5, "Luu": 0.3, "Ta": 0.3, "Quach": 0.3,
}  # fmt: skip
VIETNAMESE_GIVEN = """
Thanh Minh Hung Tuan Anh Linh Huong Lan Mai Hoa Phuong Thuy Duc Quang Long Nam Khoa Hai Trung Dung Ngoc Thao
Trang Hien Vy Bao Khanh Hanh Huy Phuc Tam Thu Uyen Yen Loan Nhung Son Vinh Cuong Dat Tri Tien Quynh Nhan
""".split()
VIETNAMESE_MIDDLE = "Van Thi Ngoc Minh Thanh Quoc Duc Huu Kim Xuan Hong".split()

INDIAN_SURNAMES = """
Patel Shah Singh Kumar Sharma Reddy Rao Gupta Desai Mehta Iyer Nair Menon Pillai Joshi Agarwal Kulkarni Krishnan
Venkataraman Subramanian Srinivasan Raghavan Narayanan Chandrasekaran Ramachandran Balasubramanian Venkatesan
Gopalakrishnan Ramakrishnan Swaminathan Parthasarathy Krishnamurthy Chakraborty Bhattacharya Mukherjee Banerjee
Chatterjee Deshpande Malhotra Kapoor Venkatasubramanian Satyanarayana Vaidyanathan Anantharaman Thirunavukkarasu
Ramanathan Lakshmanan Sundararajan Jayaraman Muthukrishnan Ravichandran Thiagarajan Hariharan Vijayaraghavan
Radhakrishnan Sivaramakrishnan Venkatanarayanan Nagarajan Bose Ghosh Das Dutta Sen Choudhury Trivedi Pandya
Bhatt Jain Chopra Khanna Bhatia Arora Sethi Ahuja Grewal Sandhu Gill Dhillon Venkatachalapathy Narasimhamurthy
""".split()
INDIAN_GIVEN = """
Priya Rahul Amit Sanjay Rajesh Sunil Deepak Anil Vijay Neha Pooja Lakshmi Venkatesh Srinivas Ravi Krishna Arun
Vikram Suresh Ramesh Ganesh Kavitha Padmavathi Jayalakshmi Vijayalakshmi Rajalakshmi Bhuvaneswari Anjali Sunita
Meena Radha Shanti Gita Aarti Nisha Divya Swati Kiran Manoj Naveen Prakash Ashok Mahesh Sandeep Rakesh Harish
Venkata Sai Subrahmanyam Satyanarayana Venkataramana Lakshminarayanan Venkatasubramanian Sivaramakrishnan
Balasubrahmanyam Anantharamakrishnan Satyanarayanamurthy Venkatalakshmi Narasimhan
""".split()

EAST_ASIAN_SURNAMES = """
Li Wang Zhang Liu Chen Kim Lee Yang Huang Park Zhao Wu Zhou Xu Choi Sun Ma Zhu Hu Guo He Lin Gao Luo Zheng Jung
Kang Liang Xie Song Tang Wong Chan Cho Han Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Du Ye
Cheng Yoon Jang Lim Oh Seo Shin Kwon Hwang Ahn Yoo Hong Cheung Leung Lau Ng Chiu Tsai Hsu Chang Wei Su Lu Ding
Shen Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida Yamada Sasaki
Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu
""".split()
EAST_ASIAN_GIVEN = """
Wei Jing Li Ming Hui Yan Xiaoming Jian Hong Lei Yu Jun Min Hao Xin Yi Ying Lin Fang Qiang Zhiwei Xiaoli Jianguo
Jihoon Seoyeon Minjun Hyun Sung Young Jae Eun Soo Ji-Hoon Hye-Jin Kenji Hiroshi Yuki Takashi Akiko Naoko Haruki
""".split()


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _zipf(n: int, offset: float) -> list[float]:
    return _cumulative([1.0 / (rank + offset) for rank in range(n)])


def general_pools() -> tuple[list[str], list[str]]:
    """The US-calibrated surname and first-name pools, upper case, with their synthetic long tails."""
    rng = random.Random(1)  # the pools do not depend on --seed
    surnames = list(dict.fromkeys(COMMON_SURNAMES))
    taken = set(surnames)
    while len(surnames) < SURNAME_POOL_SIZE:
        name = rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CONSONANTS) + rng.choice(_SURNAME_ENDS)
        if name not in taken:
            taken.add(name)
            surnames.append(name)
    given = list(dict.fromkeys(COMMON_GIVEN))
    taken = set(given)
    while len(given) < GIVEN_POOL_SIZE:
        name = rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CONSONANTS) + rng.choice(_GIVEN_ENDS)
        if name not in taken:
            taken.add(name)
            given.append(name)
    return surnames, given


def _display(name: str) -> str:
    """A pool name as a roster keeps it: MCDONALD -> Mcdonald, O'BRIEN -> O'Brien (already mixed: as is)."""
    return name.title() if name.isupper() else name


@dataclass
class Pool:
    names: list[str]
    cum: list[float]

    def draw(self, rng: random.Random) -> str:
        return self.names[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


@dataclass
class Culture:
    """Where a physician's name comes from, and the habits that go with it (all rates per physician)."""

    name: str
    share: float
    surnames: Pool
    given: Pool
    #: middle names drawn from this pool (else from ``given``)
    middles: Pool | None = None
    #: the first name is a Western one from the general pool (Jennifer Li, Kevin Nguyen)
    western_first: float = 0.0
    middle_full: float = 0.3
    middle_initial: float = 0.25
    hyphenated: float = 0.0
    compound_first: float = 0.0
    former: float = 0.0
    suffix: float = 0.0


#: Suffixes a roster keeps in its own column (not the matcher's input) and a list puts in the last name.
SUFFIXES = ("Jr", "Jr", "Jr", "III", "III", "II", "Sr", "IV")


@dataclass
class Person:
    """A name as a roster would hold it: ``first``/``middle``/``last``/``former`` as entered (accents kept
    or not), ``canon_*`` the pool's spelling with every accent."""

    culture: str
    first: str
    middle: str | None
    last: str
    former: list[str]
    suffix: str | None
    canon_first: str
    canon_last: str


class NameMaker:
    """Draws people's names from the mix of cultures (a roster's physicians, a list's filler rows)."""

    def __init__(self) -> None:
        surnames, given = general_pools()
        general_given = Pool([_display(n) for n in given], _zipf(len(given), GIVEN_OFFSET))
        self.general_given = general_given

        def ranked(names: list[str], offset: float) -> Pool:
            return Pool(names, _zipf(len(names), offset))

        self.cultures: list[Culture] = [
            Culture(
                "anglo/general", 0.52, Pool([_display(n) for n in surnames], _zipf(len(surnames), SURNAME_OFFSET)),
                general_given, middle_full=0.3, middle_initial=0.25, hyphenated=0.03, compound_first=0.02,
                former=0.10, suffix=0.05,
            ),
            Culture(
                "hispanic", 0.18, ranked(HISPANIC_SURNAMES, 6), ranked(HISPANIC_GIVEN, 5), middle_full=0.15,
                middle_initial=0.1, hyphenated=0.25, compound_first=0.15, former=0.05, suffix=0.01,
            ),
            Culture(
                "vietnamese", 0.07, Pool(list(VIETNAMESE_SURNAMES), _cumulative(list(VIETNAMESE_SURNAMES.values()))),
                ranked(VIETNAMESE_GIVEN, 4), middles=ranked(VIETNAMESE_MIDDLE, 1.5), western_first=0.15,
                middle_full=0.6, middle_initial=0.05, hyphenated=0.01, former=0.05,
            ),
            Culture(
                "indian", 0.11, ranked(INDIAN_SURNAMES, 3), ranked(INDIAN_GIVEN, 6), western_first=0.03,
                middle_full=0.15, middle_initial=0.2, hyphenated=0.03, former=0.06,
            ),
            Culture(
                "east_asian", 0.12, ranked(EAST_ASIAN_SURNAMES, 2), ranked(EAST_ASIAN_GIVEN, 4), western_first=0.45,
                middle_full=0.2, middle_initial=0.1, hyphenated=0.02, former=0.08,
            ),
        ]  # fmt: skip
        self.by_name = {c.name: c for c in self.cultures}
        self.culture_cum = _cumulative([c.share for c in self.cultures])

    def culture(self, rng: random.Random) -> Culture:
        return self.cultures[bisect.bisect_right(self.culture_cum, rng.random() * self.culture_cum[-1])]

    def person(self, rng: random.Random, *, keep_accents: float = 0.6) -> Person:
        c = self.culture(rng)
        last = c.surnames.draw(rng)
        if rng.random() < c.hyphenated:
            other = c.surnames.draw(rng)
            if other != last and " " not in last + other:
                last = f"{last}-{other}"
        western = rng.random() < c.western_first
        first_pool = self.general_given if western else c.given
        first = first_pool.draw(rng)
        if rng.random() < c.compound_first:
            second = first_pool.draw(rng)
            if second != first:
                first = f"{first} {second}"
        m = rng.random()
        middle_pool = c.middles or (c.given if western or c.name == "anglo/general" else first_pool)
        middle = middle_pool.draw(rng) if m < c.middle_full else None
        if middle is None and m < c.middle_full + c.middle_initial:
            middle = fold(middle_pool.draw(rng))[0]
        former = [c.surnames.draw(rng) if rng.random() < 0.7 else self.cultures[0].surnames.draw(rng)]
        former = [f for f in former if f != last] if rng.random() < c.former else []
        suffix = rng.choice(SUFFIXES) if rng.random() < c.suffix else None
        canon_first, canon_last = first, last
        if rng.random() >= keep_accents:  # entered without accents: José -> Jose
            first, last = _plain(first), _plain(last)
            middle = _plain(middle) if middle else middle
            former = [_plain(f) for f in former]
        return Person(c.name, first, middle, last, former, suffix, canon_first, canon_last)

    def listed(self, rng: random.Random) -> tuple[str, str, str]:
        """(LAST, FIRST, MIDDLE) as a publisher prints an unrelated person (upper-case ASCII; MIDDLE may be
        a full name, an initial or empty)."""
        p = self.person(rng, keep_accents=0.0)
        return fold(p.last), fold(p.first), fold(p.middle or "")


def _plain(text: str) -> str:
    """Accents dropped, case kept (a roster that stores names in ASCII)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def has_accents(text: str | None) -> bool:
    return bool(text) and not text.isascii()
