"""A labelled set of short support messages for the sensitive-input detectors.

Each case is a message and what a careful reader would mark in it: ``(kind, exact text)``
pairs. The exact text occurs once in its message, so it pins the span (``spans`` turns it into
offsets); a span covers the value as written, with its ``+``, parentheses and inner separators,
without surrounding punctuation. About half the set is hard negatives (order numbers, dates,
versions, amounts, times, identifiers that fail their checksum), because a detector that fires on
those would send ordinary support traffic to people for no reason.

Card numbers and IBANs are the public test values of card networks and banks.
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    text: str
    expected: tuple[tuple[str, str], ...] = ()


def spans(case: Case) -> set[tuple[str, int, int]]:
    """The expected findings of ``case`` as ``(kind, start, end)``."""
    out = set()
    for kind, value in case.expected:
        start = case.text.index(value)
        assert case.text.count(value) == 1, f"{value!r} is ambiguous in {case.text!r}"
        out.add((kind, start, start + len(value)))
    return out


EMAIL, PHONE, CARD, IBAN = "email", "phone", "card", "iban"

CASES: tuple[Case, ...] = (
    # --- e-mail addresses
    Case(
        "Hi, my email is ana.garcia@example.com, please reset my password",
        ((EMAIL, "ana.garcia@example.com"),),
    ),
    Case(
        "Send the invoice to billing+eu@acme-corp.co.uk", ((EMAIL, "billing+eu@acme-corp.co.uk"),)
    ),
    Case("JOHN.DOE@EXAMPLE.ORG can't log in", ((EMAIL, "JOHN.DOE@EXAMPLE.ORG"),)),
    Case("contact me at maria_lopez92@correo.es o por chat", ((EMAIL, "maria_lopez92@correo.es"),)),
    Case("Hola, soy josé.pérez@dominio.es y no puedo entrar", ((EMAIL, "josé.pérez@dominio.es"),)),
    Case(
        "Changed my email from old@mail.com to new.me@mail.com yesterday",
        ((EMAIL, "old@mail.com"), (EMAIL, "new.me@mail.com")),
    ),
    Case("<support-ticket@company.io> bounced my reply", ((EMAIL, "support-ticket@company.io"),)),
    Case(
        "Can you update the account email to t.nguyen@sub.example.com?",
        ((EMAIL, "t.nguyen@sub.example.com"),),
    ),
    Case("mailto:help@store.example didn't work", ((EMAIL, "help@store.example"),)),
    Case("My login is kim@kim.dev and the app crashes on startup", ((EMAIL, "kim@kim.dev"),)),
    Case("(ana@example.com)", ((EMAIL, "ana@example.com"),)),
    Case(
        "reply to r.o'neil@example.ie? no, to roneil@example.ie",
        ((EMAIL, "r.o'neil@example.ie"), (EMAIL, "roneil@example.ie")),
    ),
    # --- phone numbers, international
    Case("Call me back on +34 612 345 678 please", ((PHONE, "+34 612 345 678"),)),
    Case("My number is +1 (415) 555-0100, after 5pm", ((PHONE, "+1 (415) 555-0100"),)),
    Case("UK office: +44 20 7946 0958", ((PHONE, "+44 20 7946 0958"),)),
    Case("whatsapp +4915123456789 if easier", ((PHONE, "+4915123456789"),)),
    Case("You can reach me at +33 6 12 34 56 78", ((PHONE, "+33 6 12 34 56 78"),)),
    Case("mobile: +1-415-555-0132", ((PHONE, "+1-415-555-0132"),)),
    Case("tel +44 (0)20 7946 0321 ext 4", ((PHONE, "+44 (0)20 7946 0321"),)),
    Case("mi teléfono es 0034 612 345 679", ((PHONE, "0034 612 345 679"),)),
    Case("+353 87 123 4567 is my new number", ((PHONE, "+353 87 123 4567"),)),
    Case("Pls call +52 55 1234 5678 urgently", ((PHONE, "+52 55 1234 5678"),)),
    Case("Phone:+34612345678", ((PHONE, "+34612345678"),)),
    # --- phone numbers, local formats
    Case("Call me at 415-555-0100 about the refund", ((PHONE, "415-555-0100"),)),
    Case("My phone (415) 555 0100 is not receiving the SMS code", ((PHONE, "(415) 555 0100"),)),
    Case("Número: 612 34 56 78, llamadme por la tarde", ((PHONE, "612 34 56 78"),)),
    Case("Mon portable: 0612345678, merci", ((PHONE, "0612345678"),)),
    Case("Vous pouvez m'appeler au 06 12 34 56 78", ((PHONE, "06 12 34 56 78"),)),
    Case("call 020 7946 0958 between 9 and 5", ((PHONE, "020 7946 0958"),)),
    Case("my mobile 07700 900123 hasn't got the code", ((PHONE, "07700 900123"),)),
    Case("llámame al 612 345 678", ((PHONE, "612 345 678"),)),
    Case("Mi número es 612345678", ((PHONE, "612345678"),)),
    Case("The SMS never arrives to 415.555.0199", ((PHONE, "415.555.0199"),)),
    Case("Ring me on 0161 496 0000 please", ((PHONE, "0161 496 0000"),)),
    Case("Telefon 030 12345678, danke", ((PHONE, "030 12345678"),)),
    Case("Rufen Sie mich an: 0151 23456789", ((PHONE, "0151 23456789"),)),
    Case("Please phone 1-800-555-0199 back, that's our office line", ((PHONE, "1-800-555-0199"),)),
    Case("Reach me at 555-0134", ((PHONE, "555-0134"),)),
    Case("I'm at 91 123 45 67 (Madrid office)", ((PHONE, "91 123 45 67"),)),
    Case("phone number 4155550123 on file is wrong", ((PHONE, "4155550123"),)),
    Case("my cell is 06-12345678", ((PHONE, "06-12345678"),)),
    Case("The courier called me from 020-1234567 twice", ((PHONE, "020-1234567"),)),
    Case("Text me at (212) 555-0147 when it ships", ((PHONE, "(212) 555-0147"),)),
    Case("Mi tlf 612-345-678", ((PHONE, "612-345-678"),)),
    Case("call me 0612345678!", ((PHONE, "0612345678"),)),
    Case("Whatsapp: 699 11 22 33", ((PHONE, "699 11 22 33"),)),
    # --- payment cards
    Case("My card 4111 1111 1111 1111 was charged twice", ((CARD, "4111 1111 1111 1111"),)),
    Case("charged to 4242424242424242 yesterday", ((CARD, "4242424242424242"),)),
    Case("card number 5555-5555-5555-4444 exp 12/26 cvv 123", ((CARD, "5555-5555-5555-4444"),)),
    Case("Amex 3782 822463 10005 declined", ((CARD, "3782 822463 10005"),)),
    Case("the payment with 6011 1111 1111 1117 failed", ((CARD, "6011 1111 1111 1117"),)),
    Case("Tarjeta 4532 0151 1283 0366, caducidad 08/27", ((CARD, "4532 0151 1283 0366"),)),
    Case("Use 5105 1051 0510 5100 for the renewal", ((CARD, "5105 1051 0510 5100"),)),
    Case("I typed 4000-0566-5566-5556 but it says invalid", ((CARD, "4000-0566-5566-5556"),)),
    Case("JCB 3530111333300000 not accepted?", ((CARD, "3530111333300000"),)),
    Case("diners 3056 9309 0259 04 charged €49,99", ((CARD, "3056 9309 0259 04"),)),
    Case("visa 4917 6100 0000 0000 003", ((CARD, "4917 6100 0000 0000 003"),)),
    Case("Mastercard 2223 0031 2200 3222 got blocked", ((CARD, "2223 0031 2200 3222"),)),
    Case("card ending in 1111, full number 4012 8888 8888 1881", ((CARD, "4012 8888 8888 1881"),)),
    Case("Refund to 5425233430109903 please", ((CARD, "5425233430109903"),)),
    Case("UnionPay card 6200 0000 0000 0005 doesn't work here", ((CARD, "6200 0000 0000 0005"),)),
    Case("card:4111111111111111", ((CARD, "4111111111111111"),)),
    Case("I paid with 4242 4242 4242 4242.", ((CARD, "4242 4242 4242 4242"),)),
    Case("amex 371449635398431 expired", ((CARD, "371449635398431"),)),
    Case("card 4111  1111  1111  1111 was charged twice", ((CARD, "4111  1111  1111  1111"),)),
    Case("Pagué con 5555  5555  5555  4444 y no llegó", ((CARD, "5555  5555  5555  4444"),)),
    # --- IBANs
    Case(
        "Please refund to IBAN DE89 3704 0044 0532 0130 00",
        ((IBAN, "DE89 3704 0044 0532 0130 00"),),
    ),
    Case("My IBAN: ES9121000418450200051332", ((IBAN, "ES9121000418450200051332"),)),
    Case(
        "transfer to GB29 NWBK 6016 1331 9268 19 by Friday",
        ((IBAN, "GB29 NWBK 6016 1331 9268 19"),),
    ),
    Case(
        "Mon IBAN est FR14 2004 1010 0505 0001 3M02 606",
        ((IBAN, "FR14 2004 1010 0505 0001 3M02 606"),),
    ),
    Case("iban nl91abna0417164300 thanks", ((IBAN, "nl91abna0417164300"),)),
    Case(
        "IT60 X054 2811 1010 0000 0123 456 is the account for the refund",
        ((IBAN, "IT60 X054 2811 1010 0000 0123 456"),),
    ),
    Case("refund: BE68 5390 0754 7034.", ((IBAN, "BE68 5390 0754 7034"),)),
    Case("CH93 0076 2011 6238 5295 7 (Zürich)", ((IBAN, "CH93 0076 2011 6238 5295 7"),)),
    Case("Use AT611904300234573201 for SEPA", ((IBAN, "AT611904300234573201"),)),
    Case(
        "Cuenta ES79 2100 0813 6101 2345 6789 para la devolución",
        ((IBAN, "ES79 2100 0813 6101 2345 6789"),),
    ),
    Case("IBAN PT50 0002 0123 1234 5678 9015 4", ((IBAN, "PT50 0002 0123 1234 5678 9015 4"),)),
    Case("NO93 8601 1117 947", ((IBAN, "NO93 8601 1117 947"),)),
    Case("pay into IE29 AIBK 9311 5212 3456 78 please", ((IBAN, "IE29 AIBK 9311 5212 3456 78"),)),
    Case(
        "SE45 5000 0000 0583 9825 7466 is my Swedish account",
        ((IBAN, "SE45 5000 0000 0583 9825 7466"),),
    ),
    Case("PL61 1090 1014 0000 0712 1981 2874", ((IBAN, "PL61 1090 1014 0000 0712 1981 2874"),)),
    Case("IBAN:DE89370400440532013000.", ((IBAN, "DE89370400440532013000"),)),
    Case(
        "my account GB82 WEST 1234 5698 7654 32 please refund",
        ((IBAN, "GB82 WEST 1234 5698 7654 32"),),
    ),
    # --- several in one message
    Case(
        "I'm ana@example.com, phone +34 612 345 678, card 4111 1111 1111 1111",
        ((EMAIL, "ana@example.com"), (PHONE, "+34 612 345 678"), (CARD, "4111 1111 1111 1111")),
    ),
    Case(
        "Refund to ES91 2100 0418 4502 0005 1332 or call 612 345 678",
        ((IBAN, "ES91 2100 0418 4502 0005 1332"), (PHONE, "612 345 678")),
    ),
    Case(
        "email: bob@example.net / mobile 07700 900456",
        ((EMAIL, "bob@example.net"), (PHONE, "07700 900456")),
    ),
    Case(
        "Charged twice on 5555 5555 5555 4444 — order 88213, contact me at kim@example.com",
        ((CARD, "5555 5555 5555 4444"), (EMAIL, "kim@example.com")),
    ),
    Case(
        "Mi IBAN es ES79 2100 0813 6101 2345 6789 y mi móvil 698 765 432",
        ((IBAN, "ES79 2100 0813 6101 2345 6789"), (PHONE, "698 765 432")),
    ),
    Case(
        "Call (415) 555-0100 or (415) 555-0101",
        ((PHONE, "(415) 555-0100"), (PHONE, "(415) 555-0101")),
    ),
    Case(
        "my old number 612 345 678 and new one +34 699 111 222",
        ((PHONE, "612 345 678"), (PHONE, "+34 699 111 222")),
    ),
    Case(
        "receipts go to acc@shop.example, card 4242 4242 4242 4242",
        ((EMAIL, "acc@shop.example"), (CARD, "4242 4242 4242 4242")),
    ),
    Case(
        "Please update: phone +1 415 555 0188, email lee@example.com",
        ((PHONE, "+1 415 555 0188"), (EMAIL, "lee@example.com")),
    ),
    Case(
        "I paid $1,299.99 with card 4111-1111-1111-1111 on 2024-03-15",
        ((CARD, "4111-1111-1111-1111"),),
    ),
    Case(
        "email,phone: a.b@c.de,+49 151 23456789", ((EMAIL, "a.b@c.de"), (PHONE, "+49 151 23456789"))
    ),
    Case("Llámame al 91 123 45 67 o al 612345678", ((PHONE, "91 123 45 67"), (PHONE, "612345678"))),
    Case("order 88213: please call 0612345678", ((PHONE, "0612345678"),)),
    Case("Since 15/03/2024 no SMS reaches +44 7700 900077", ((PHONE, "+44 7700 900077"),)),
    Case(
        "Paid 49,99 € with 4111 1111 1111 1111, receipt to me@example.com",
        ((CARD, "4111 1111 1111 1111"), (EMAIL, "me@example.com")),
    ),
    # --- things that are not sensitive
    Case("Where is my order #A-12345?"),
    Case("order 88213 hasn't arrived yet"),
    Case("I was charged $1,299.99 instead of $999"),
    Case("El cargo fue de 49,99 € y no 39,99 €"),
    Case("Invoice dated 2024-03-15 is wrong"),
    Case("Since 15/03/2024 the app doesn't open"),
    Case("Running v2.3.1 on Windows 10.0.19045"),
    Case("The meeting is at 10:30 tomorrow"),
    Case("I got charged twice: 4111 1111 1111 1112"),
    Case("order 4111  1111  1111  1112 never arrived"),
    Case("invoice of 2024-03-15  12:30, total 1,299.99  EUR"),
    Case("orders 123456  789012  345678 are missing"),
    Case("charged 49,99  on 15 03 2024  and 16 03 2024"),
    Case("ref 2024  0001  0002  0003 pending"),
    Case("Tracking number 1Z999AA10123456784"),
    Case("order number 1234567890 never arrived"),
    Case("ticket 5550100 still open"),
    Case("My account id is 1234 5678 9012 3456"),
    Case("Please cancel subscription 2024-0042"),
    Case("The total was 1 299,00 €"),
    Case("Error code 0x80070005 when updating"),
    Case("Build 22631.3447 breaks the plugin"),
    Case("Between 9:00 and 17:30 please"),
    Case("it costs 12,500,000 in the enterprise tier?"),
    Case("I have 3 devices and 2 users"),
    Case("Invoice INV-2024-000123 is missing"),
    Case("Paid 1.299,99 EUR by transfer"),
    Case("Case 00123456 escalated"),
    Case("Reference: 987654321"),
    Case("Pedido 612345678 no ha llegado"),
    Case("the file is 1048576 bytes"),
    Case("IP 192.168.100.200 blocked"),
    Case("We have 20 seats at 49 € each"),
    Case("SKU 100-200-3000 out of stock"),
    Case("Postcode 28013 Madrid"),
    Case("my zip is 94107-1234"),
    Case("It happened 3 times on 12.03.2024 at 14.05"),
    Case("account balance: -1,250.00"),
    Case("version 10.0.19045.3693"),
    Case("ISBN 978-3-16-148410-0"),
    Case("My password reset link expired after 24h"),
    Case("Transaction 20240315123456 failed"),
    Case("payment id 7730012345678 pending"),
    Case("Room 1204, floor 12"),
    Case("Call center said wait 48 hours"),
    Case("phone model iPhone 15 Pro, iOS 17.4.1"),
    Case("I called on 2024-03-15 and nobody answered"),
    Case("the code 123456 you texted didn't work"),
    Case("my pin is 1234"),
    Case("Amount due: USD 2,450.00"),
    Case("Price went from 19.99 to 24.99"),
    Case("Renewal on 03/15/2024 charged 2 times"),
    Case("Order ES-2024-55501 delayed"),
    Case("coupon SAVE2024 didn't apply"),
    Case("Our company number is 09876543"),
    Case("Wi-Fi password is 88213-55501"),
    Case("2 x 500 ml bottles, 3 x 1 l"),
    Case("Delivery window 08:00-12:00"),
    Case("Bank transfer ref 2024031500012"),
    Case("Hola, quiero darme de baja del plan pro"),
    Case("Hi, the dashboard is slow since yesterday"),
    Case("@support your app is broken"),
    Case("Coordinates 40.4168, -3.7038"),
    Case("Temperature 21.5°C in the server room"),
    Case("My order 1234-5678-9012 is late"),
    Case("License key ABCD-1234-EFGH-5678"),
    Case("Ref. 2024/03/15-001"),
    Case("I need 2 more licences for 15 users"),
    Case("chargeback of 1.250 € on 15.03.2024"),
    Case("Customer since 2019, 5 years"),
    Case("ES plan costs 9,99€/month"),
    Case("Order #123456789 not delivered"),
    Case("El pedido 987 654 321 llegó roto"),
    Case("Tracking 9400 1000 0000 0000 0000 00"),
    Case("hi, charged 3 times for order 88213 on 15/03/2024 total $149.97"),
    Case("My subscription renews 2025-01-01 at 00:00 UTC"),
    Case("Number of seats: 25"),
    Case("ping 10.0.0.1 fails"),
    Case("SEPA mandate ref MNDT-2024-000981"),
    Case("Order 1000234567 and 1000234568 both missing"),
    Case("I have 4 cards; the one ending 4444 fails"),
    Case("Your invoice #88213 shows 2 x 49,99 €"),
    Case("IBAN DE89 3704 0044 0532 0130 01 is what I typed, is it wrong?"),
    Case("Refund 1.299.000 COP to my account please"),
    Case("Our revenue is 1 250 000 000 € per year"),
    Case("the update to 2.14.0 broke login on 17.4.1 devices"),
    Case("download took 12:45:30 and failed at 99.5%"),
    Case("From 2024-03-15 09:30 to 2024-03-16 18:00"),
    Case("Please merge accounts 55501 and 55502"),
    Case("Ich habe am 15.03.2024 bezahlt, Rechnung 2024-000981"),
    Case("Mi pedido nº 20240315 llegó el 16/03"),
    Case("We are 250 people, 40 of them on the pro plan"),
    Case("The API returns error 503 since 08:15"),
    Case("Commande 76543210 jamais reçue"),
    Case("my phone is an android 14, build UP1A.231005.007"),
)
