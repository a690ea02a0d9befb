"""More labelled messages for redaction, written as whole support tickets the way the gateway
receives them: longer, mixed languages, several values per message, and the service's own
pattern (customer numbers ``CU-12345``, configured as ``logging.redact: [{customer: ...}]``).

Together with ``tests/core/sensitive_cases.py`` they make the set that the redaction figures in
docs/serving.md are measured on. Card numbers and IBANs are the public test values of card
networks and banks; phone numbers use reserved or fictional ranges where a country has them.
"""

from __future__ import annotations

import re

from tests.core.sensitive_cases import CARD, EMAIL, IBAN, PHONE, Case

CUSTOMER = "customer"
PATTERNS = {CUSTOMER: re.compile(r"\bCU-\d{5}\b")}

TICKETS: tuple[Case, ...] = (
    # --- several values in one ticket
    Case(
        "Hello, I was charged twice for invoice 2024-0042 (49,99 € each) on my Visa "
        "4012 8888 8888 1881. Please refund to the same card and confirm to "
        "lena.schmidt@posteo.de. Thanks, Lena",
        ((CARD, "4012 8888 8888 1881"), (EMAIL, "lena.schmidt@posteo.de")),
    ),
    Case(
        "Buenos días, el pedido 55501 llegó roto. Pueden devolver el dinero a mi cuenta "
        "ES91 2100 0418 4502 0005 1332? Mi móvil es 654 321 987 por si necesitan algo.",
        ((IBAN, "ES91 2100 0418 4502 0005 1332"), (PHONE, "654 321 987")),
    ),
    Case(
        "Bonjour, je n'arrive plus à me connecter depuis la mise à jour 3.2.1. "
        "Mon adresse est claire.dupont@orange.fr et mon portable 06 45 78 12 90.",
        ((EMAIL, "claire.dupont@orange.fr"), (PHONE, "06 45 78 12 90")),
    ),
    Case(
        "Guten Tag, bitte buchen Sie die Gebühr von 12,50 EUR von DE89 3704 0044 0532 0130 00 "
        "ab und nicht von meiner Kreditkarte. Rückruf unter +49 30 901820 bitte.",
        ((IBAN, "DE89 3704 0044 0532 0130 00"), (PHONE, "+49 30 901820")),
    ),
    Case(
        "Customer CU-10442 here. My new card is 5105 1051 0510 5100, the old one ending "
        "in 4444 was cancelled on 03/02/2025.",
        ((CUSTOMER, "CU-10442"), (CARD, "5105 1051 0510 5100")),
    ),
    Case(
        "From: Tom Baker <tom.baker@example.co.uk>\nSubject: refund\n\nPlease refund order "
        "#778812 to GB29 NWBK 6016 1331 9268 19. You can call me on 020 7946 0123.",
        (
            (EMAIL, "tom.baker@example.co.uk"),
            (IBAN, "GB29 NWBK 6016 1331 9268 19"),
            (PHONE, "020 7946 0123"),
        ),
    ),
    Case(
        "I'm CU-20931 and CU-20932 is my wife's account; merge them please. Both emails: "
        "ana@familia.example and jorge@familia.example",
        (
            (CUSTOMER, "CU-20931"),
            (CUSTOMER, "CU-20932"),
            (EMAIL, "ana@familia.example"),
            (EMAIL, "jorge@familia.example"),
        ),
    ),
    Case(
        "The app says 'payment declined' for 6011 1111 1111 1117 but the bank says it's fine. "
        "Version 5.12.0, Android 14, happened 3 times since 2025-01-20.",
        ((CARD, "6011 1111 1111 1117"),),
    ),
    Case(
        "Please send the contract to legal@acme-industries.com and copy "
        "j.martin+contracts@acme-industries.com; our VAT number is ESB12345678.",
        (
            (EMAIL, "legal@acme-industries.com"),
            (EMAIL, "j.martin+contracts@acme-industries.com"),
        ),
    ),
    Case(
        "SEPA refund failed: IBAN NL91 ABNA 0417 1643 00, amount 1.250,00 EUR, "
        "reference RF18 5390 0754 7034.",
        ((IBAN, "NL91 ABNA 0417 1643 00"),),
    ),
    Case(
        "Amex 3714 496353 98431 was charged $2,340.00 for 12 seats instead of 10. Call "
        "(212) 555-0147 between 9:00 and 17:00 ET.",
        ((CARD, "3714 496353 98431"), (PHONE, "(212) 555-0147")),
    ),
    Case(
        "Hola! Me llamo Marta, cliente CU-33018. No me llegan los SMS de verificación al "
        "+34 699 123 456 desde el 12/01.",
        ((CUSTOMER, "CU-33018"), (PHONE, "+34 699 123 456")),
    ),
    Case(
        "Uw factuur 2025-00871 klopt niet. Rekening NL91ABNA0417164300, telefoon 06-12345678.",
        ((IBAN, "NL91ABNA0417164300"), (PHONE, "06-12345678")),
    ),
    Case(
        "Kindly update billing: card 4000 0566 5566 5556 exp 09/27, CVC sent separately. "
        "Invoices to ap@northwind.example please.",
        ((CARD, "4000 0566 5566 5556"), (EMAIL, "ap@northwind.example")),
    ),
    Case(
        "Il bonifico da IT60 X054 2811 1010 0000 0123 456 non è arrivato? Ordine 20250114-77.",
        ((IBAN, "IT60 X054 2811 1010 0000 0123 456"),),
    ),
    Case(
        "please call me back at 415.555.0132, I'm on the enterprise plan (CU-55210)",
        ((PHONE, "415.555.0132"), (CUSTOMER, "CU-55210")),
    ),
    Case(
        "My Mastercard 2223 0031 2200 3222 shows a pending charge of 0,00 € from you",
        ((CARD, "2223 0031 2200 3222"),),
    ),
    Case(
        "Reset link goes to my old address p.nowak@poczta.example.pl; the new one is "
        "piotr.nowak@firma.example.pl. Konto PL61 1090 1014 0000 0712 1981 2874.",
        (
            (EMAIL, "p.nowak@poczta.example.pl"),
            (EMAIL, "piotr.nowak@firma.example.pl"),
            (IBAN, "PL61 1090 1014 0000 0712 1981 2874"),
        ),
    ),
    Case(
        "Whatsapp me: +44 7700 900461. Or email sam_o@mail.example.",
        ((PHONE, "+44 7700 900461"), (EMAIL, "sam_o@mail.example")),
    ),
    Case(
        "Refund to BE68 5390 0754 7034 please, it's been 14 days since ticket 88213.",
        ((IBAN, "BE68 5390 0754 7034"),),
    ),
    Case(
        "The JCB 3530 1113 3330 0000 was refused in the checkout at 23:59 on 31/12/2024",
        ((CARD, "3530 1113 3330 0000"),),
    ),
    Case(
        "tel. 030 1234567 (Büro), mobil 0151 23456789",
        ((PHONE, "030 1234567"), (PHONE, "0151 23456789")),
    ),
    Case(
        "Account owner: CU-90001. Card on file 5555555555554444. Please remove it.",
        ((CUSTOMER, "CU-90001"), (CARD, "5555555555554444")),
    ),
    Case(
        "Compte CH93 0076 2011 6238 5295 7 pour le remboursement, merci. Tél 022 123 45 67",
        ((IBAN, "CH93 0076 2011 6238 5295 7"), (PHONE, "022 123 45 67")),
    ),
    Case(
        "diners card 3056 9309 0259 04 not accepted in Spain?",
        ((CARD, "3056 9309 0259 04"),),
    ),
    Case(
        "Email me at first.last@sub.domain.example.org when the outage (since 08:15 UTC) ends",
        ((EMAIL, "first.last@sub.domain.example.org"),),
    ),
    Case(
        "Overweisung von AT61 1904 3002 3457 3201 fehlgeschlagen, Fehlercode 0x8007",
        ((IBAN, "AT61 1904 3002 3457 3201"),),
    ),
    Case(
        "Call me: 1-800-555-0199 ext. 42, or my cell 312-555-0175",
        ((PHONE, "1-800-555-0199"), (PHONE, "312-555-0175")),
    ),
    Case(
        "pay with 4242424242424242 failed with error 402; order 1000234567; total $89.00",
        ((CARD, "4242424242424242"),),
    ),
    Case(
        "IE29 AIBK 9311 5212 3456 78 is my Irish account for the refund of invoice INV-5521",
        ((IBAN, "IE29 AIBK 9311 5212 3456 78"),),
    ),
    Case(
        "contact: m.rossi@studio-rossi.it / +39 06 6982 1234",
        ((EMAIL, "m.rossi@studio-rossi.it"), (PHONE, "+39 06 6982 1234")),
    ),
    Case(
        "Hi it's CU-00017, the seat count is wrong (25 instead of 20)",
        ((CUSTOMER, "CU-00017"),),
    ),
    Case(
        "SE45 5000 0000 0583 9825 7466 — that's where the refund should go, not the card",
        ((IBAN, "SE45 5000 0000 0583 9825 7466"),),
    ),
    Case(
        "Card 3782 822463 10005 got a foreign transaction fee of 2.5% which you said was 0%",
        ((CARD, "3782 822463 10005"),),
    ),
    Case(
        "Mi correo cambió a lucia.fernandez@correo.example y el teléfono a 91 234 56 78",
        ((EMAIL, "lucia.fernandez@correo.example"), (PHONE, "91 234 56 78")),
    ),
    Case(
        "The PT50 0002 0123 1234 5678 9015 4 account is closed, use the card instead",
        ((IBAN, "PT50 0002 0123 1234 5678 9015 4"),),
    ),
    Case(
        "Text me at 07700 900983 when the parcel 1Z999AA10123456784 ships",
        ((PHONE, "07700 900983"),),
    ),
    Case(
        "my number is +1 (646) 555-0121 and my customer id CU-71113",
        ((PHONE, "+1 (646) 555-0121"), (CUSTOMER, "CU-71113")),
    ),
    Case(
        "FR14 2004 1010 0505 0001 3M02 606 — pour le virement de 1 299,00 € du 15/03",
        ((IBAN, "FR14 2004 1010 0505 0001 3M02 606"),),
    ),
    Case(
        "Support@Company.Example replied from noreply@company.example, which I can't answer",
        ((EMAIL, "Support@Company.Example"), (EMAIL, "noreply@company.example")),
    ),
    # --- tickets with nothing to redact (tricky ones)
    Case("Order 4111 1111 1111 1112 is not a card, it's our order format, right?"),
    Case("Invoice INV-2025-000381 for 1.299,00 EUR is due on 2025-02-28"),
    Case("We upgraded from 4.18.2 to 5.0.0-rc.1 and the export to CSV broke"),
    Case("Customer number CU-1234 (four digits, old format) cannot log in"),
    Case("The charge of $1,234,567.89 on our enterprise account must be a mistake"),
    Case("Pedido 2025-000123 del 14/02/2025 por 149,90 € no llegó"),
    Case("Since build 22631.4890 the app freezes at 100% CPU for 30-45 seconds"),
    Case("Our office opens 08:30-17:30 Mon-Fri, closed 24/12 and 31/12"),
    Case("Tracking 9400 1118 9922 3344 5566 77 shows delivered but nothing arrived"),
    Case("I have 3 licences, 2 admins and 14 viewers; plan pro, billed yearly"),
    Case("Coupon WINTER2025 gave 15% instead of 25%"),
    Case("Error 0x80070005 then error 0xC004F074 when activating"),
    Case("Ticket 1234567 was closed but the issue from 2024-12-01 persists"),
    Case("Our IP range 10.20.30.0/24 is blocked by your firewall since 12.02.2025"),
    Case("Reference 2025031512345678 on the bank statement, amount 39,00 €"),
    Case("The GTIN 4006381333931 product page shows the wrong price"),
    Case("ISBN 978-0-306-40615-7 is listed twice in the catalogue"),
    Case("Twitter handle @acme_support doesn't answer DMs"),
    Case("SKU 2024-AB-55501 and SKU 2024-AB-55502 are swapped in the warehouse"),
    Case("model number SM-G991B, serial R58R12ABCDE, bought 2023-06-15"),
    Case("Delivery slot 14:00-16:00 on 2025-03-01, 2 parcels, 12.5 kg"),
    Case("Pagué 1.250.000 COP el 05/01 y sigo sin servicio"),
    Case("IBAN DE89 3704 0044 0532 0130 99 was rejected — is it a typo on my side?"),
    Case("Account 0000 0000 0000 0000 appears on my invoice, looks like a placeholder"),
    Case("Renewal 2025-01-01 00:00 UTC charged 1 299,00 € for 10 seats"),
    Case("We need 250 licences by Q3 2025 for 4 offices"),
    Case("The latency went from 120 ms to 1800 ms after 09:41 on 2025-02-03"),
    Case("Bestellung 4711-0815 vom 03.02.2025 fehlt"),
    Case("Version 10.0.22631.4890 of Windows, Office 16.0.17928.20114"),
    Case("Bank transfer ref 20250315000123456789 still pending"),
    Case("my pin 4321 stopped working after 3 attempts"),
    Case("Please call back: I'm available from 9 to 5 tomorrow"),
    Case("Le colis 6A12345678901 est bloqué depuis le 02/02"),
    Case("I was billed 3 x 49,99 € = 149,97 € on 12.01.2025"),
    Case("case number 00012345 escalated to tier 2 on 2025-02-10 14:32"),
    Case("Our SIREN 732 829 320 is wrong on the invoice"),
    Case("Our customer portal uses cu-12345 as a test login (lower-case), ignore it"),
    Case("IMEI 356938035643809 device not compatible with eSIM"),
    Case("postcode 1012 AB Amsterdam, house number 221"),
    Case("Order #CU-ORDER-55512 is a sales order, not a customer"),
)
