"""The hand-reviewed input of the catalogue: which countries we serve and which operators we sell.

Everything that can be derived is left out on purpose: country names, calling codes and
currencies come from Babel/libphonenumber, prefixes from libphonenumber's carrier data, and
prices from the FX file (see build_catalogue.py). What stays here is what a person has to
decide and review:

- the operators to sell: the main mobile network operators of each country, not MVNOs;
- their display name (the brand people know today, which is not always the carrier name in
  libphonenumber, e.g. Orange Niger was sold and became Zamani Telecom);
- the English carrier names in ``phonenumbers.carrierdata.CARRIER_DATA`` whose prefixes are
  theirs. An operator lists several names when it absorbed another network whose number
  ranges libphonenumber still files under the old name (a comment says which merger);
- the balance-check USSD code, only where it is widely published and we are confident it
  is current. ``None`` means "we do not know it", never "there is none".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OperatorSource:
    slug: str  # the operator id is "<iso2 lowercase>-<slug>"
    name: str
    carrier_names: tuple[str, ...]
    balance_check_code: str | None = None


@dataclass(frozen=True, slots=True)
class CountrySource:
    iso2: str
    operators: tuple[OperatorSource, ...]
    # Only where Babel's English territory name reads badly in a country picker.
    name: str | None = None
    # False where libphonenumber has no carrier data for the country at all. Its operators
    # ship without prefixes: the lookup then takes the operator from the supplier or, when
    # the supplier cannot tell, from the customer's choice. The builder fails once carrier
    # data shows up, so that the carrier names get filled in then.
    has_carrier_data: bool = True


def _operator(
    slug: str, name: str, *carrier_names: str, balance: str | None = None
) -> OperatorSource:
    return OperatorSource(slug, name, carrier_names, balance)


# USSD codes that are set here: Nigeria's *310# is the NCC's harmonised balance code for every
# network (2021); the others are each operator's own long-standing, widely published code.
COUNTRIES: tuple[CountrySource, ...] = (
    CountrySource(
        "AF",
        (
            _operator("awcc", "Afghan Wireless", "AWCC"),
            _operator("roshan", "Roshan", "Roshan"),
            _operator("etisalat", "Etisalat Afghanistan", "Etisalat"),
            # The former MTN Afghanistan ranges (076, 077), renamed after its sale.
            _operator("atoma", "Atoma", "ATOMA"),
        ),
    ),
    CountrySource(
        "AL",
        (
            _operator("one", "One Albania", "One"),
            _operator("vodafone", "Vodafone Albania", "Vodafone"),
        ),
    ),
    CountrySource(
        "AM",
        (
            _operator("viva", "Viva Armenia", "VivaCell-MTS"),
            _operator("team", "Team Telecom Armenia", "Team Telecom Armenia"),
            _operator("ucom", "Ucom", "Ucom"),
        ),
    ),
    CountrySource(
        "BD",
        (
            _operator("grameenphone", "Grameenphone", "Grameenphone", balance="*566#"),
            # Airtel Bangladesh merged into Robi (2016); libphonenumber already files 016 as Robi.
            _operator("robi", "Robi", "Robi", balance="*222#"),
            _operator("banglalink", "Banglalink", "Banglalink", balance="*124#"),
            _operator("teletalk", "Teletalk", "TeleTalk"),
        ),
    ),
    CountrySource(
        "BE",
        (
            _operator("proximus", "Proximus", "Proximus"),
            _operator("orange", "Orange Belgium", "Orange"),
            _operator("telenet", "Telenet (BASE)", "Telenet"),
        ),
    ),
    CountrySource(
        "BF",
        (
            _operator("orange", "Orange Burkina Faso", "Orange"),
            _operator("moov", "Moov Africa Burkina Faso", "Moov Africa"),
            _operator("telecel", "Telecel Faso", "Telecel Faso"),
        ),
    ),
    CountrySource(
        "BJ",
        (
            _operator("mtn", "MTN Benin", "MTN"),
            _operator("moov", "Moov Africa Benin", "Moov"),
            _operator("celtiis", "Celtiis", "Celtiis"),
        ),
    ),
    CountrySource(
        "BO",
        (
            _operator("entel", "Entel Bolivia", "Entel"),
            _operator("tigo", "Tigo Bolivia", "Tigo"),
            # Nuevatel PCS de Bolivia trades as Viva.
            _operator("viva", "Viva Bolivia", "Nuevatel"),
        ),
    ),
    CountrySource(
        "BR",
        (
            # Telemig Celular (Minas Gerais) was bought by Vivo in 2007 and merged into it.
            _operator("vivo", "Vivo", "Vivo", "Telemig Celular"),
            _operator("tim", "TIM Brasil", "TIM"),
            _operator("claro", "Claro Brasil", "Claro"),
            # Oi's mobile base was split between the three in 2022, so its ranges are left out.
        ),
    ),
    CountrySource(
        "CD",
        (
            _operator("vodacom", "Vodacom Congo", "Vodacom"),
            _operator("airtel", "Airtel Congo RDC", "Airtel"),
            _operator("orange", "Orange RDC", "Orange"),
            _operator("africell", "Africell RDC", "Africell"),
        ),
        name="Congo (DR)",
    ),
    CountrySource(
        "CG",
        (
            _operator("mtn", "MTN Congo", "MTN"),
            # Airtel Congo took over Warid Congo (2014).
            _operator("airtel", "Airtel Congo", "Airtel", "Warid"),
        ),
        name="Congo",
    ),
    CountrySource(
        "CI",
        (
            _operator("orange", "Orange Côte d'Ivoire", "Orange"),
            _operator("mtn", "MTN Côte d'Ivoire", "MTN"),
            _operator("moov", "Moov Africa Côte d'Ivoire", "Moov"),
        ),
        # Babel writes a typographic apostrophe; people type (and search for) a plain one.
        name="Côte d'Ivoire",
    ),
    CountrySource(
        "CM",
        (
            _operator("mtn", "MTN Cameroon", "MTN Cameroon"),
            _operator("orange", "Orange Cameroun", "Orange"),
            _operator("nexttel", "Nexttel", "NEXTTEL"),
            _operator("camtel", "Camtel", "Camtel"),
        ),
    ),
    CountrySource(
        "CO",
        (
            _operator("claro", "Claro Colombia", "Claro"),
            _operator("movistar", "Movistar Colombia", "Movistar"),
            _operator("tigo", "Tigo Colombia", "Tigo"),
            # Partners Telecom Colombia is the company behind WOM.
            _operator("wom", "WOM Colombia", "Partners Telecom Colombia"),
        ),
    ),
    CountrySource(
        "CU",
        (_operator("cubacel", "Cubacel", "etecsa", balance="*222#"),),
    ),
    CountrySource(
        "CV",
        (
            _operator("cvmovel", "CVMóvel", "CVMOVEL"),
            _operator("unitel", "Unitel T+", "T+"),
        ),
    ),
    CountrySource(
        "DE",
        (
            _operator("telekom", "Telekom", "T-Mobile"),
            _operator("vodafone", "Vodafone", "Vodafone"),
            # E-Plus merged into Telefónica Germany (O2) in 2014.
            _operator("o2", "O2", "O2", "Eplus"),
        ),
    ),
    CountrySource(
        "DO",
        (
            _operator("claro", "Claro", "Claro"),
            # Altice bought Orange Dominicana and Tricom (2014) and merged them as Altice.
            _operator("altice", "Altice", "Orange", "Tricom"),
            _operator("viva", "Viva", "Viva"),
        ),
    ),
    CountrySource(
        "DZ",
        (
            _operator("mobilis", "Mobilis", "Mobilis"),
            _operator("djezzy", "Djezzy", "Djezzy"),
            _operator("ooredoo", "Ooredoo Algérie", "Ooredoo"),
        ),
    ),
    CountrySource(
        "EC",
        (
            _operator("claro", "Claro Ecuador", "Claro"),
            # Millicom bought Telefónica Ecuador (Movistar); libphonenumber now files it as Tigo.
            _operator("tigo", "Tigo Ecuador", "Tigo"),
            _operator("cnt", "CNT", "CNT"),
        ),
    ),
    CountrySource(
        "EG",
        (
            _operator("vodafone", "Vodafone Egypt", "Vodafone"),
            _operator("orange", "Orange Egypt", "Orange"),
            # Etisalat Misr trades as e& since 2023.
            _operator("etisalat", "e& Egypt", "Etisalat"),
            # Telecom Egypt's mobile brand.
            _operator("we", "WE", "TE"),
        ),
    ),
    CountrySource(
        "ES",
        (
            _operator("movistar", "Movistar", "Movistar"),
            _operator("vodafone", "Vodafone", "Vodafone"),
            _operator("orange", "Orange", "Orange"),
            _operator("yoigo", "Yoigo", "Yoigo"),
            # Digi runs its own network in Spain and is widely used by the Romanian community.
            _operator("digi", "Digi", "DigiMobil"),
        ),
    ),
    CountrySource(
        "ET",
        (
            _operator("ethio-telecom", "Ethio Telecom", "Ethio Telecom"),
            _operator("safaricom", "Safaricom Ethiopia", "Safaricom"),
        ),
    ),
    CountrySource(
        "FR",
        (
            # Orange's prepaid (Mobicarte) account menu and balance.
            _operator("orange", "Orange", "Orange France", balance="#123#"),
            _operator("sfr", "SFR", "SFR"),
            _operator("bouygues", "Bouygues Telecom", "Bouygues"),
            _operator("free", "Free Mobile", "Free Mobile"),
        ),
    ),
    CountrySource(
        "GA",
        (
            _operator("airtel", "Airtel Gabon", "Airtel"),
            # Libertis (Gabon Telecom) and Moov merged as Moov Africa Gabon Télécom.
            _operator("moov", "Moov Africa Gabon", "Moov", "Libertis"),
        ),
    ),
    CountrySource(
        "GB",
        (
            # Orange UK merged into EE; libphonenumber still files some ranges as Orange.
            _operator("ee", "EE", "EE", "Orange"),
            _operator("o2", "O2", "O2"),
            _operator("vodafone", "Vodafone", "Vodafone"),
            _operator("three", "Three", "Three"),
        ),
    ),
    CountrySource(
        "GE",
        (
            _operator("magti", "Magti", "MagtiCom"),
            _operator("silknet", "Silknet", "Silknet"),
            _operator("cellfie", "Cellfie", "Cellfie"),
        ),
    ),
    CountrySource(
        "GH",
        (
            _operator("mtn", "MTN Ghana", "MTN", balance="*124#"),
            # Vodafone Ghana became Telecel Ghana (2024).
            _operator("telecel", "Telecel Ghana", "Telecel"),
            # AirtelTigo, now state-owned and trading as AT.
            _operator("at", "AT", "at"),
        ),
    ),
    CountrySource(
        "GM",
        (
            _operator("africell", "Africell", "Africell"),
            _operator("qcell", "QCell", "QCell"),
            _operator("comium", "Comium", "Comium"),
            _operator("gamcel", "Gamcel", "Gamcel"),
        ),
    ),
    CountrySource(
        "GN",
        (
            _operator("orange", "Orange Guinée", "Orange"),
            _operator("cellcom", "Cellcom Guinée", "Cellcom"),
        ),
    ),
    CountrySource(
        "GT",
        (
            _operator("tigo", "Tigo Guatemala", "Tigo"),
            # Telgua is Claro's company; América Móvil bought Movistar Guatemala in 2019.
            _operator("claro", "Claro Guatemala", "Telgua", "Movistar"),
        ),
    ),
    CountrySource(
        "HN",
        (
            _operator("tigo", "Tigo Honduras", "Celtel (Tigo)"),
            _operator("claro", "Claro Honduras", "Sercom (Claro)"),
        ),
    ),
    CountrySource(
        "HT",
        (
            _operator("digicel", "Digicel Haïti", "Digicel"),
            _operator("natcom", "Natcom", "Natcom"),
        ),
    ),
    CountrySource(
        "ID",
        (
            _operator("telkomsel", "Telkomsel", "Telkomsel", balance="*888#"),
            _operator("indosat", "Indosat Ooredoo Hutchison", "Indosat Ooredoo Hutchison"),
            # XL bought AXIS in 2014 and keeps it as a brand.
            _operator("xl", "XL Axiata", "XL", "AXIS"),
            _operator("smartfren", "Smartfren", "Smartfren"),
        ),
    ),
    CountrySource(
        "IN",
        (
            _operator("jio", "Jio", "Reliance Jio", balance="*333#"),
            # Airtel absorbed Telenor India (Telewings, brand Uninor; 2018) and Tata Docomo's
            # consumer mobile business (2019) with their subscribers and number ranges.
            _operator(
                "airtel",
                "Airtel",
                "Airtel",
                "Telenor",
                "Telewings",
                "Uninor",
                "Tata Docomo",
                balance="*123#",
            ),
            # Vodafone India and Idea Cellular merged as Vodafone Idea, brand Vi (2018).
            _operator("vi", "Vi", "Vodafone", "Idea"),
            _operator("bsnl", "BSNL", "BSNL MOBILE", balance="*123#"),
        ),
    ),
    CountrySource(
        "IT",
        (
            _operator("tim", "TIM", "TIM"),
            _operator("vodafone", "Vodafone", "Vodafone"),
            # Wind and 3 Italia merged as WindTre (2016).
            _operator("windtre", "WindTre", "WIND", "3 Italia"),
        ),
    ),
    CountrySource(
        "JM",
        (
            _operator("digicel", "Digicel Jamaica", "Digicel"),
            # Flow is Cable & Wireless Jamaica's brand.
            _operator("flow", "Flow Jamaica", "Flow", "Cable & Wireless", "C&W"),
        ),
    ),
    CountrySource(
        "JO",
        (
            _operator("zain", "Zain Jordan", "Zain JO"),
            _operator("orange", "Orange Jordan", "Orange"),
            _operator("umniah", "Umniah", "Umniah"),
        ),
    ),
    CountrySource(
        "KE",
        (
            _operator("safaricom", "Safaricom", "Safaricom", balance="*144#"),
            _operator("airtel", "Airtel Kenya", "Airtel", balance="*131#"),
            _operator("telkom", "Telkom Kenya", "Telkom"),
        ),
    ),
    CountrySource(
        "KM",
        (
            _operator("comores-telecom", "Comores Telecom", "Comores Telecom"),
            _operator("telco", "Telco Comores", "TELCO"),
        ),
    ),
    CountrySource(
        "LB",
        (
            _operator("alfa", "Alfa", "Alfa"),
            _operator("touch", "touch", "Touch"),
        ),
    ),
    CountrySource(
        "LK",
        (
            # Dialog took over Airtel Lanka (2023).
            _operator("dialog", "Dialog", "Dialog", "Airtel"),
            _operator("mobitel", "SLT-Mobitel", "Mobitel"),
            # Etisalat Lanka merged into Hutch (2018).
            _operator("hutch", "Hutch", "Hutch", "Etisalat"),
        ),
    ),
    CountrySource(
        "LR",
        (
            _operator("lonestar", "Lonestar Cell MTN", "Lonestar Cell"),
            _operator("orange", "Orange Liberia", "Orange"),
        ),
    ),
    CountrySource(
        "MA",
        (
            _operator("maroc-telecom", "Maroc Telecom", "Maroc Telecom"),
            _operator("orange", "Orange Maroc", "Orange"),
            _operator("inwi", "inwi", "Inwi"),
        ),
    ),
    CountrySource(
        "MD",
        (
            _operator("orange", "Orange Moldova", "Orange"),
            _operator("moldcell", "Moldcell", "Moldcell"),
        ),
    ),
    CountrySource(
        "MG",
        (
            # Telma rebranded as Yas (2024).
            _operator("yas", "Yas Madagascar", "Yas"),
            _operator("orange", "Orange Madagascar", "Orange"),
            _operator("airtel", "Airtel Madagascar", "Airtel"),
        ),
    ),
    CountrySource(
        "ML",
        (
            _operator("orange", "Orange Mali", "Orange"),
            # Sotelma is the company behind Moov Africa Malitel.
            _operator("moov", "Moov Africa Malitel", "Sotelma"),
        ),
    ),
    CountrySource(
        "MX",
        (
            _operator("telcel", "Telcel", balance="*133#"),
            _operator("att", "AT&T México"),
            _operator("movistar", "Movistar México"),
        ),
        # libphonenumber has no carrier data for +52 (Mexico has full number portability and
        # changed its dial plan in 2019): its operators ship without prefixes.
        has_carrier_data=False,
    ),
    CountrySource(
        "NE",
        (
            _operator("airtel", "Airtel Niger", "Airtel"),
            # Orange Niger was sold in 2019 and trades as Zamani Telecom.
            _operator("zamani", "Zamani Telecom", "Orange"),
            _operator("moov", "Moov Africa Niger", "Moov"),
        ),
    ),
    CountrySource(
        "NG",
        (
            _operator("mtn", "MTN Nigeria", "MTN", balance="*310#"),
            _operator("airtel", "Airtel Nigeria", "Airtel", balance="*310#"),
            _operator("glo", "Glo", "Glo", balance="*310#"),
            _operator("9mobile", "9mobile", "9mobile", balance="*310#"),
        ),
    ),
    CountrySource(
        "NI",
        (
            _operator("claro", "Claro Nicaragua", "Claro"),
            # Millicom bought Movistar Nicaragua in 2019 and rebranded it Tigo.
            _operator("tigo", "Tigo Nicaragua", "Movistar"),
        ),
    ),
    CountrySource(
        "NP",
        (
            # Nepal Doorsanchar Company Limited (NDCL) is Nepal Telecom's legal name.
            _operator("ntc", "Nepal Telecom", "Nepal Telecom", "NDCL", balance="*400#"),
            _operator("ncell", "Ncell", "NCell", balance="*101#"),
        ),
    ),
    CountrySource(
        "PE",
        (
            _operator("claro", "Claro Perú", "Claro"),
            _operator("movistar", "Movistar Perú", "Movistar"),
            _operator("entel", "Entel Perú", "Entel"),
        ),
    ),
    CountrySource(
        "PH",
        (
            _operator("globe", "Globe", "Globe"),
            _operator("smart", "Smart", "Smart"),
            _operator("dito", "DITO", "Dito"),
        ),
    ),
    CountrySource(
        "PK",
        (
            _operator("jazz", "Jazz", "Jazz", balance="*111#"),
            _operator("zong", "Zong", "Zong", balance="*222#"),
            _operator("ufone", "Ufone", "Ufone", balance="*124#"),
            _operator("telenor", "Telenor Pakistan", "Telenor", balance="*444#"),
        ),
    ),
    CountrySource(
        "PL",
        (
            _operator("plus", "Plus", "Plus"),
            _operator("play", "Play", "Play"),
            _operator("orange", "Orange Polska", "Orange"),
            _operator("t-mobile", "T-Mobile", "T-Mobile"),
        ),
    ),
    CountrySource(
        "PT",
        (
            _operator("meo", "MEO", "MEO"),
            _operator("nos", "NOS", "NOS"),
            _operator("vodafone", "Vodafone Portugal", "Vodafone"),
        ),
    ),
    CountrySource(
        "RO",
        (
            _operator("orange", "Orange România", "Orange"),
            _operator("vodafone", "Vodafone România", "Vodafone"),
            _operator("digi", "Digi", "Digi Mobil"),
        ),
    ),
    CountrySource(
        "RS",
        (
            # Telekom Srbija's mobile brand.
            _operator("mts", "mts", "Telekom Srbija a.d."),
            # Telenor Serbia rebranded as Yettel (2022).
            _operator("yettel", "Yettel", "Telenor"),
            _operator("a1", "A1 Srbija", "A1"),
        ),
    ),
    CountrySource(
        "RW",
        (
            _operator("mtn", "MTN Rwanda", "MTN"),
            _operator("airtel", "Airtel Rwanda", "Airtel"),
        ),
    ),
    CountrySource(
        "SN",
        (
            _operator("orange", "Orange Sénégal", "Orange"),
            # Free Senegal (formerly Tigo) rebranded as Yas (2024).
            _operator("yas", "Yas Sénégal", "Yas"),
            _operator("expresso", "Expresso", "Expresso"),
        ),
    ),
    CountrySource(
        "SV",
        (
            _operator("claro", "Claro El Salvador", "Claro"),
            _operator("tigo", "Tigo El Salvador", "Tigo"),
            _operator("movistar", "Movistar El Salvador", "Movistar"),
            _operator("digicel", "Digicel El Salvador", "Digicel"),
        ),
    ),
    CountrySource(
        "TG",
        (
            # Togo Telecom/Togocel, privatised and renamed Togocom (2019).
            _operator("togocom", "Togocom", "Togo Telecom"),
            _operator("moov", "Moov Africa Togo", "Moov"),
        ),
    ),
    CountrySource(
        "TN",
        (
            _operator("tunisie-telecom", "Tunisie Telecom", "Tunisie Telecom"),
            _operator("ooredoo", "Ooredoo Tunisie", "Ooredoo"),
            _operator("orange", "Orange Tunisie", "Orange"),
        ),
    ),
    CountrySource(
        "TR",
        (
            _operator("turkcell", "Turkcell", "Turkcell"),
            _operator("vodafone", "Vodafone Türkiye", "Vodafone"),
            _operator("turk-telekom", "Türk Telekom", "Turk Telekom"),
        ),
    ),
    CountrySource(
        "TZ",
        (
            _operator("vodacom", "Vodacom Tanzania", "Vodacom"),
            _operator("airtel", "Airtel Tanzania", "Airtel"),
            # Tigo Tanzania rebranded as Yas (2024).
            _operator("yas", "Yas Tanzania", "Yas"),
            # Viettel's brand in Tanzania.
            _operator("halotel", "Halotel", "Viettel"),
        ),
    ),
    CountrySource(
        "UA",
        (
            _operator("kyivstar", "Kyivstar", "Kyivstar"),
            _operator("vodafone", "Vodafone Ukraine", "Vodafone"),
            _operator("lifecell", "lifecell", "lifecell"),
        ),
    ),
    CountrySource(
        "UG",
        (
            _operator("mtn", "MTN Uganda", "MTN"),
            _operator("airtel", "Airtel Uganda", "Airtel"),
        ),
    ),
    CountrySource(
        "VN",
        (
            _operator("viettel", "Viettel", "Viettel"),
            _operator("vinaphone", "VinaPhone", "Vinaphone"),
            _operator("mobifone", "MobiFone", "MobiFone"),
            _operator("vietnamobile", "Vietnamobile", "Vietnamobile"),
        ),
    ),
    CountrySource(
        "ZA",
        (
            _operator("vodacom", "Vodacom", "Vodacom"),
            _operator("mtn", "MTN South Africa", "MTN"),
            _operator("cell-c", "Cell C", "Cell C"),
            _operator("telkom", "Telkom Mobile", "Telkom Mobile"),
        ),
    ),
    CountrySource(
        "ZM",
        (
            _operator("mtn", "MTN Zambia", "MTN"),
            _operator("airtel", "Airtel Zambia", "Airtel"),
            _operator("zamtel", "Zamtel", "ZAMTEL"),
        ),
    ),
)
