"""Phrase pools for the demo support messages, in English and Spanish.

Templates hold ``{slot}`` names that :mod:`liveops.demo.data` fills from ``SLOTS``. Pools are
grouped by what a phrase says:

- ``CORE``: the request, worded the usual way;
- ``INDIRECT``: the same requests in rarer words;
- ``CONFUSER``: a request that names another team's words; the label is the main intent;
- ``NICHE_FRAMES`` + ``NICHE_TERMS``: a neutral frame around one rare, topical term;
- ``SHORT``: a few words, as typed into a chat box;
- ``VAGUE``: says nothing about the topic; its label cannot be read from the text;
- ``LAUNCH``, ``LAUNCH_CORE``, ``SECURITY``: only in the ``new_world`` mode.

Pools are written as ``[lang]`` or ``[lang label]`` sections of phrases separated by new lines
or ``|``. Everything is plain data, so realism can be improved here without touching the
generator.
"""

from __future__ import annotations

from typing import Any, Final

Pool = tuple[str, ...]
LangPools = dict[str, Pool]


def _sections(text: str) -> dict[str, Any]:
    """Parse pools written as ``[en]`` or ``[en billing]`` headers, then phrases.

    Phrases follow the header on its line or below it, one per line or several on a line
    separated by ``|``. ``[en]`` sections give
    ``{"en": pool}``; ``[en billing]`` sections give ``{"en": {"billing": pool}}``.
    """
    out: dict[str, Any] = {}
    pool: list[str] = []
    for raw in text.strip().splitlines():
        line = raw.strip()
        if line.startswith("["):
            header, _, line = line[1:].partition("]")
            keys = header.split()
            pool = []
            if len(keys) == 1:
                out[keys[0]] = pool
            else:
                out.setdefault(keys[0], {})[keys[1]] = pool
        if line:
            pool.extend(p.strip() for p in line.split("|") if p.strip())
    frozen: dict[str, Any] = _freeze(out)
    return frozen


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _freeze(v) for k, v in value.items()}
    return tuple(value)


LABELS: Final = ("billing", "technical", "cancellation", "general")
NEW_LABEL: Final = "account_security"

# Slot values; a template's {slot} is filled from its language's pool.
SLOTS: Final[dict[str, LangPools]] = _sections(
    """
    [en amount] $12.99 | $49 | €30 | $120 | $9.99 | $240 | $19 | £15 | $75.50
    [en when] yesterday | last week | on the 3rd | this morning | last Tuesday | two days ago
    [en period] this month | last month | in March | at the annual renewal | in May
    [en pay] card | credit card | PayPal account | bank account | debit card
    [en bill] invoice | bill | receipt | invoice
    [en charged] charged | billed | charged
    [en money] payment | charge | payment | transaction
    [en plan] pro | free | enterprise | team | pro
    [en device] iPhone | Android phone | Windows laptop | Mac | iPad | Chromebook
    [en action]
    open a report | upload a file | save my changes | export my data | share a document
    open the settings page | add a new user | search for a file | print a report
    [en feature]
    sync | the export | search | the calendar view | the mobile app | the desktop app
    notifications | the dashboard | the editor
    [en code] 500 | 403 | E-1042 | 0x8007 | 502 | 404 | E-77
    [en tool] Slack | Salesforce | Google Drive | Outlook | Zapier | Jira
    [en fmt] PDF | CSV | Excel | PNG
    [en size] 10 MB | 50 MB | 1 GB | 200 MB
    [en rival] another provider | a competitor | a cheaper tool | an in-house tool
    [en topic] the API | user permissions | reporting | the import tool | templates
    [en city] Madrid | Berlin | Austin | Mexico City | London | Toronto
    [en idea] a dark mode | keyboard shortcuts | a Gantt chart | bulk editing
    [en name] Alex | Sam | Jordan | Maria | Chris | Priya | Tom | Lena
    [es amount] 12,99 € | 49 € | 30 € | 120 € | 9,99 $ | 240 € | 19 € | $500 MXN
    [es when] ayer | la semana pasada | el día 3 | esta mañana | el martes | hace dos días
    [es period] este mes | el mes pasado | en marzo | en la renovación anual | en mayo
    [es pay] tarjeta | tarjeta de crédito | cuenta de PayPal | cuenta bancaria
    [es bill] factura | recibo | factura
    [es charged] cobraron | cargaron | cobraron
    [es money] pago | cargo | cobro | pago
    [es plan] pro | gratuito | enterprise | de equipo
    [es device] iPhone | móvil Android | portátil | Mac | tablet
    [es action]
    abrir un informe | subir un archivo | guardar los cambios | exportar mis datos
    compartir un documento | entrar en la configuración | añadir un usuario
    [es feature]
    la sincronización | la exportación | el buscador | la aplicación móvil | el calendario
    las notificaciones | el panel
    [es code] 500 | 403 | E-1042 | 502 | 404
    [es tool] Slack | Google Drive | Outlook | Zapier
    [es fmt] PDF | CSV | Excel
    [es size] 10 MB | 50 MB | 1 GB
    [es rival] otro proveedor | la competencia | una herramienta más barata
    [es topic] la API | los permisos de usuario | los informes | las plantillas
    [es city] Madrid | Barcelona | Ciudad de México | Bogotá | Buenos Aires
    [es idea] un modo oscuro | atajos de teclado | edición masiva
    [es name] Lucía | Carlos | Ana | Javier | Sofía | Diego | Marta
    """
)

GREETINGS: Final[LangPools] = _sections(
    """
    [en] Hi, | Hello, | Hello team, | Hi there, | Good morning, | Dear support, | Hey,
    [es] Hola, | Buenos días, | Buenas tardes, | Hola equipo, | Estimado soporte,
    """
)

PLEASANTRIES: Final[LangPools] = _sections(
    """
    [en]
    I hope you are doing well. | Thank you in advance for your time.
    I look forward to hearing from you. | Thanks for your help.
    I appreciate you taking a look. | Please let me know if you need anything else from me.
    Have a nice day.
    [es]
    Espero que estén bien. | Gracias de antemano por su tiempo. | Quedo atento a su respuesta.
    Muchas gracias por la ayuda. | Que tengan un buen día. | Avísenme si necesitan algo más.
    """
)

SIGNOFFS: Final[LangPools] = {
    "en": ("Thanks,\n{name}", "Best regards,\n{name}", "Cheers,\n{name}", "Kind regards, {name}"),
    "es": ("Saludos,\n{name}", "Un saludo,\n{name}", "Gracias,\n{name}", "Atentamente, {name}"),
}

# Neutral background; several name another team's words, as real messages do.
CONTEXT: Final[LangPools] = _sections(
    """
    [en]
    I'm on the {plan} plan. | I've been a customer for three years. | I use it on my {device}.
    This is the second time I'm writing about this.
    My account email is the one I'm writing from. | We are a small team of five people.
    I already tried restarting everything. | I manage the account for our company.
    I signed up {when}. | My colleague has the same account type.
    [es]
    Tengo el plan {plan}. | Soy cliente desde hace tres años. | Lo uso en mi {device}.
    Es la segunda vez que escribo por esto. | Mi correo es el mismo desde el que escribo.
    Somos un equipo pequeño de cinco personas. | Gestiono la cuenta de nuestra empresa.
    Me registré {when}.
    """
)

ANGRY: Final[LangPools] = _sections(
    """
    [en]
    This is ridiculous! | I'm really frustrated. | Worst service ever. | Fix this NOW.
    I am extremely disappointed!! | Nobody answers my emails! | Unacceptable.
    [es]
    ¡Esto es ridículo! | Estoy muy molesto. | ¡Pésimo servicio! | Es inaceptable.
    ¡Nadie me responde! | Estoy harta de esto.
    """
)

# The usual wording of each request.
CORE: Final[dict[str, dict[str, Pool]]] = _sections(
    """
    [en billing]
    I was {charged} twice for my {plan} subscription {period}.
    Why was my {pay} {charged} {amount} {when}?
    I need a refund for the {money} I made {period}.
    My {bill} shows the wrong amount.
    Can you send me a copy of the {bill} from {when}?
    There is a {money} of {amount} on my {pay} that I don't recognise.
    Please update the billing address on my {bill}.
    How do I change my payment method to a new {pay}?
    The discount code was not applied to my {bill}.
    I got {charged} after my free trial ended.
    You {charged} me the annual price instead of the monthly price.
    I need a VAT {bill} for my company.
    My {money} failed but the money left my {pay}.
    When will my refund of {amount} arrive?
    The price went up {period} without any notice.
    I was overcharged for extra seats on my {bill}.
    Please refund the duplicate {money} from {when}.
    I was {charged} {amount} for a plan I never ordered.
    [en technical]
    The app crashes every time I try to {action}.
    I get error {code} when I try to {action}.
    {feature} stopped working after the last update.
    The page keeps loading forever when I {action}.
    Sync between my phone and my laptop is broken.
    The export to {fmt} is broken, the file is empty.
    Notifications are not arriving on my {device}.
    The API returns a {code} error since {when}.
    The dashboard is stuck on a blank screen.
    Uploads fail for files over {size}.
    The integration with {tool} stopped working {when}.
    The app is extremely slow on my {device}.
    The password reset link gives an error.
    I can't log in, the login page just freezes.
    {feature} shows a bug: the data is duplicated.
    The {device} app freezes when I {action}.
    I keep getting a timeout error when I {action}.
    The install fails on my {device} with error {code}.
    [en cancellation]
    I want to cancel my subscription.
    Please close my account.
    How do I cancel before the next renewal?
    Please do not renew my {plan} plan.
    I'm switching to {rival}, please cancel my account.
    I want to terminate my contract.
    Please delete my account and cancel everything.
    Cancel my {plan} subscription at the end of the month.
    I no longer need the service, please cancel it.
    Stop my membership, I want to cancel.
    How can I cancel my plan and close the account?
    I'd like to end my subscription today.
    Please cancel the auto-renewal and close my account.
    [en general]
    What are your opening hours?
    Can I talk to someone in sales about the {plan} plan?
    I'd like to suggest a feature: {idea}.
    Do you have documentation for {topic}?
    Where is your office in {city}?
    Is there a webinar about {topic}?
    Great job on the new design, thank you!
    How do I add a teammate to my workspace?
    Do you offer training sessions for new teams?
    Is my data stored in the EU?
    Can I change my username?
    Do you have a partner program?
    Where can I find a guide for {topic}?
    Just wanted to say the support team was great.
    Do you have a public roadmap?
    Can I get a demo for my manager?
    [es billing]
    Me {charged} dos veces la suscripción {period}.
    ¿Por qué me {charged} {amount} {when} en la {pay}?
    Necesito un reembolso del {money} que hice {period}.
    Mi {bill} tiene un importe incorrecto.
    ¿Me pueden enviar una copia de la {bill} de {when}?
    Hay un {money} de {amount} en mi {pay} que no reconozco.
    Quiero cambiar la forma de pago a otra {pay}.
    El código de descuento no se aplicó en mi {bill}.
    Me {charged} después de terminar la prueba gratuita.
    Necesito una {bill} con IVA para mi empresa.
    Quiero que me devuelvan el {money} duplicado.
    Me {charged} {amount} por un plan que no pedí.
    ¿Cuándo llega mi reembolso de {amount}?
    El precio subió {period} sin avisar.
    [es technical]
    La aplicación se cierra cada vez que intento {action}.
    Me sale el error {code} al intentar {action}.
    {feature} dejó de funcionar después de la última actualización.
    La página se queda cargando cuando intento {action}.
    La sincronización entre el móvil y el portátil no funciona.
    La exportación a {fmt} falla, el archivo sale vacío.
    No me llegan las notificaciones en el {device}.
    La API devuelve un error {code} desde {when}.
    El panel se queda en blanco.
    No puedo subir archivos de más de {size}.
    La integración con {tool} dejó de funcionar {when}.
    No puedo iniciar sesión, la página se congela.
    La app va lentísima en mi {device}.
    El enlace para cambiar la contraseña da error.
    [es cancellation]
    Quiero cancelar mi suscripción.
    Por favor, cierren mi cuenta.
    ¿Cómo cancelo antes de la próxima renovación?
    No quiero renovar el plan {plan}.
    Me voy a {rival}, cancelen mi cuenta por favor.
    Quiero dar de baja mi cuenta.
    Quiero darme de baja del servicio.
    Borren mi cuenta y cancelen todo.
    Ya no necesito el servicio, quiero cancelarlo.
    Cancelen mi plan {plan} a final de mes.
    [es general]
    ¿Cuál es su horario de atención?
    ¿Puedo hablar con ventas sobre el plan {plan}?
    Quiero sugerir una función: {idea}.
    ¿Tienen documentación sobre {topic}?
    ¿Dónde está su oficina en {city}?
    ¿Hay algún webinar sobre {topic}?
    ¡Felicidades por el nuevo diseño!
    ¿Cómo añado a un compañero a mi espacio de trabajo?
    ¿Ofrecen formación para equipos nuevos?
    ¿Mis datos se guardan en la Unión Europea?
    ¿Tienen un programa de partners?
    ¿Dónde encuentro una guía sobre {topic}?
    """
)

# The same requests in rarer words.
INDIRECT: Final[dict[str, dict[str, Pool]]] = _sections(
    """
    [en billing]
    The amount taken from my account does not match the quote we agreed.
    My accountant needs the tax breakdown for last year.
    There is a double debit on my bank statement.
    Where is my money back? It has been two weeks.
    The renewal cost more than last year and nobody told me.
    Your company took {amount} from me without permission.
    Our finance department needs a purchase order number on the paperwork.
    The prorated amount for the upgrade looks wrong to me.
    Can I pay by wire transfer instead?
    My bank flagged a suspicious debit from your company.
    [en technical]
    Everything goes white after I sign in.
    The spinner just keeps going round and nothing shows up.
    My files are not showing on the other computer.
    Since the latest version the buttons do nothing when I click.
    The screen flickers and then the window disappears.
    Webhooks are no longer firing to our server.
    Half the rows are missing when I download the spreadsheet.
    The camera permission prompt loops and I can't get past it.
    Our SSO setup rejects every user since the certificate rotation.
    The mobile version shows yesterday's numbers, not today's.
    [en cancellation]
    We are moving away from your product, please wind down our workspace.
    I don't want to be a customer anymore. | This will be our last month with you.
    Please make sure I am not billed again, I am leaving.
    We decided not to continue after the contract ends.
    Remove me from your service entirely.
    Our company is shutting down, so we won't need the seats after this month.
    I'm done with this, get me out of the contract.
    [en general]
    Who should I contact about a press inquiry? | Are you hiring in {city}?
    Could you tell me more about your company's history? | Do you sponsor student hackathons?
    Is there a community forum where users share tips?
    What languages is the interface available in?
    I'm writing a review of tools like yours, can I ask some questions?
    Can you recommend a consultant who knows your product?
    Loved the conference talk your CTO gave last week.
    Is there an accessibility statement for the product?
    [es billing]
    El importe que me quitaron no coincide con el presupuesto.
    Mi contable necesita el desglose de impuestos del año pasado.
    Veo un doble cargo en el extracto del banco.
    ¿Dónde está mi dinero? Ya pasaron dos semanas.
    La renovación costó más que el año pasado y nadie avisó.
    Se llevaron {amount} de mi cuenta sin permiso. | ¿Puedo pagar por transferencia bancaria?
    [es technical]
    Todo se pone en blanco después de entrar. | La ruedita sigue girando y no aparece nada.
    Mis archivos no aparecen en el otro ordenador.
    Desde la última versión los botones no hacen nada.
    La pantalla parpadea y luego se cierra la ventana.
    Faltan la mitad de las filas al descargar la hoja de cálculo.
    [es cancellation]
    Ya no quiero seguir siendo cliente. | Este será nuestro último mes con ustedes.
    Asegúrense de no cobrarme más, me voy.
    Decidimos no continuar cuando termine el contrato. | Sáquenme del servicio por completo.
    [es general]
    ¿A quién contacto para una consulta de prensa? | ¿Están contratando en {city}?
    ¿Hay un foro de la comunidad para compartir trucos?
    ¿En qué idiomas está disponible la interfaz?
    ¿Me recomiendan algún consultor que conozca el producto?
    ¿Tienen una declaración de accesibilidad?
    """
)

# Names another team's words on purpose: real routing errors come from messages like these.
CONFUSER: Final[dict[str, dict[str, Pool]]] = _sections(
    """
    [en billing]
    I cancelled the duplicate order but I still see the charge.
    The app says my payment went through but my card was charged again.
    I closed one of the seats but the invoice still lists it.
    After the update my invoice doubled, please refund the difference.
    I downgraded from {plan} but I'm still paying the old price.
    [en technical]
    I can't download my invoice, the button gives an error.
    The payment page crashes when I enter my card.
    The cancel button in the app does nothing, it just spins.
    The billing page shows error {code} when I open it.
    The settings page to close my account won't load.
    [en cancellation]
    Cancel my account, I'm tired of the app crashing.
    I want to stop paying for this, please cancel.
    The price is too high for us, please close our account.
    The sync errors never got fixed, so we are cancelling.
    Refund the last payment and cancel my subscription.
    [en general]
    Do you offer discounts for nonprofits?
    Is there a way to pause my account instead of cancelling?
    What is the difference in price between pro and enterprise?
    Does the app work offline on a {device}? | Which payment methods do you accept?
    [es billing]
    Cancelé el pedido duplicado pero sigo viendo el cargo.
    La app dice que el pago se hizo pero me cobraron otra vez.
    Después de la actualización mi factura se duplicó.
    [es technical]
    No puedo descargar mi factura, el botón da error.
    La página de pago se cierra cuando pongo la tarjeta.
    El botón de cancelar en la app no hace nada.
    [es cancellation]
    Cancelen mi cuenta, estoy cansado de que la app falle.
    Quiero dejar de pagar por esto, cancelen por favor.
    El precio es muy alto, cierren nuestra cuenta.
    [es general]
    ¿Tienen descuentos para ONG? | ¿Puedo pausar la cuenta en vez de cancelarla?
    ¿Qué formas de pago aceptan?
    """
)

# A few words typed into a chat box.
SHORT: Final[dict[str, dict[str, Pool]]] = _sections(
    """
    [en billing] refund please | double charge | wrong invoice | charged twice??
    [en technical] app crashing | error {code} | can't log in | sync broken
    [en cancellation] cancel my account | cancel subscription | unsubscribe me
    [en general] opening hours? | sales contact? | any webinars? | docs for the API?
    [es billing] reembolso por favor | cobro doble | factura mal
    [es technical] la app falla | error {code} | no puedo entrar
    [es cancellation] cancelar cuenta | darme de baja | quiero cancelar
    [es general] ¿horario? | contacto de ventas? | ¿hay webinars?
    """
)

# No topic at all: the label cannot be read from the text.
VAGUE: Final[LangPools] = _sections(
    """
    [en]
    I have a problem with my account. | Something is wrong, please help. | It doesn't work.
    Can someone call me back? | I need help asap. | Regarding my last email, any update?
    Still waiting for an answer. | I have a question about my plan. | Please check my account.
    Not happy with this at all. | Hello? Anyone there? | Please get back to me about my issue.
    Same problem as before. | Can you look into this for me?
    [es]
    Tengo un problema con mi cuenta. | Algo va mal, ayuda por favor. | No funciona.
    ¿Me pueden llamar? | Necesito ayuda urgente. | Sobre mi último correo, ¿alguna novedad?
    Sigo esperando respuesta. | Tengo una duda sobre mi plan. | Revisen mi cuenta por favor.
    El mismo problema de antes. | ¿Pueden mirar esto?
    """
)

# Words swapped into a Spanish message by people who mix the two languages.
ES_TO_EN: Final[dict[str, str]] = {
    "factura": "invoice",
    "aplicación": "app",
    "cuenta": "account",
    "suscripción": "subscription",
    "reembolso": "refund",
    "contraseña": "password",
}

# Courtesy words in the *other* language: an English message gets a Spanish aside.
MIXED_SNIPPETS: Final[LangPools] = _sections(
    """
    [en] gracias | hola | por favor | muchas gracias | saludos
    [es] thanks | please | asap | ok thanks | hello
    """
)

# --- niche requests: a neutral frame around one rare, topical term ---------------------------
# Each term is rare in the data, so how many of them a model knows depends on how much data it
# saw and on its vocabulary settings: the lever behind "v2 is better overall".

NICHE_FRAMES: Final[LangPools] = _sections(
    """
    [en]
    Question about {term}. | Quick question regarding {term}.
    Can someone help me with {term}? | I need help with {term} for our team.
    Who can I talk to about {term}? | We have an issue with {term}. | Following up on {term}.
    Is anyone available to discuss {term}? | Need some info on {term} please.
    Hi, it's about {term} again.
    [es]
    Pregunta sobre {term}. | Una consulta sobre {term}. | ¿Alguien me ayuda con {term}?
    Necesito ayuda con {term}. | ¿Con quién hablo sobre {term}?
    Tenemos un problema con {term}. | Sigo con lo de {term}.
    """
)

NICHE_TERMS: Final[dict[str, dict[str, Pool]]] = _sections(
    """
    [en billing]
    a chargeback | the proration | a surcharge | the installment schedule
    the remittance advice | a late fee | the billing cycle | the direct debit | a credit note
    the balance due | our tax exemption | the reverse charge | the currency conversion fee
    the pro forma | our purchase order | the reimbursement | the overdue notice
    the annual prepayment | the seat true-up | a bounced wire transfer | the deposit
    the statement of account | the dunning emails | our cost centre codes
    the withholding tax | the ledger entries | accounts payable | the IBAN on file
    the SWIFT code | the routing number | the GST number | sales tax | the tax ID
    payment terms | net 30 terms | autopay | the top-up | overage fees
    the minimum commitment | the price lock | our grandfathered pricing | a voucher
    a gift card | an expense report | the fiscal year close | the unit price | the list price
    a partial payment | the outstanding amount | the quarterly bill
    [en technical]
    the webhook retries | the SDK | the rate limit | a memory leak | the SAML certificate
    the DNS records | the websocket connection | the CLI | a stack trace | the OAuth token
    the cache | the firmware | the plugin | the proxy settings | the checksum mismatch
    the endpoint latency | the browser extension | the printer driver | the cron job
    the schema migration | the SCIM provisioning | the CORS headers | the offline mode
    the render glitch | the sync conflict | the TLS handshake | the GPU acceleration
    the redirect loop | the cookie settings | the session timeout | the null pointer exception
    the JSON payload | the batch import | the query performance | the search index
    the autosave | the file corruption | the broken links | the font rendering
    the push tokens | the Bluetooth pairing | the screen reader support
    the dark mode flicker | the keyboard focus | the thumbnail generation | the video playback
    the audio echo | the calendar sync | the SSO redirect | the certificate pinning
    [en cancellation]
    the termination notice | offboarding our team | account deactivation | the non-renewal
    winding down our workspace | the notice period | ending our contract early
    the early termination clause | closing all our seats | opting out of the renewal
    leaving at the end of the term | shutting down our account | the exit process
    discontinuing the service | not continuing next year | stopping our membership
    terminating the agreement | the cancellation confirmation | cancelling the add-on
    quitting the service | revoking the renewal | the deletion of my profile
    unsubscribing for good | our departure | ending the trial subscription
    closing the workspace for good | a cancellation reference | the offboarding checklist
    the contract exit | withdrawing from the plan | deregistering our company
    the decommissioning | the final month | the cooling-off period | retracting the order
    ending the membership
    [en general]
    the internship program | a podcast interview | your press kit | the user conference
    the certification exam | a case study | the affiliate program | the brand guidelines
    the community meetup | a sponsorship request | the careers page | the newsletter
    the swag store | a speaking slot | your sustainability report | the trademark usage
    the referral program | the university partnership | the advisory board | the beta program
    the product tour | the accessibility roadmap | the job opening | a media inquiry
    the hackathon | the ambassador program | the open source license
    the research collaboration | the charity donation | the team photo | the annual report
    the investor relations | the office visit | the coffee chat | the book recommendation
    the blog post | the video tutorial | the logo files | a guest article
    the awards nomination | the volunteering day | the alumni network | the student license
    the training calendar | the conference tickets | the holiday schedule
    the mailing address | the company values | the diversity report | the founders' story
    [es billing]
    un contracargo | el prorrateo | un recargo | el plan de cuotas | un recargo por mora
    el ciclo de facturación | la domiciliación bancaria | una nota de crédito
    el saldo pendiente | la retención de impuestos | la orden de compra | el aviso de deuda
    el prepago anual | la comisión por cambio de moneda
    [es technical]
    los webhooks | el SDK | el límite de peticiones | una fuga de memoria
    el certificado SAML | los registros DNS | el token de OAuth | la caché
    el complemento del navegador | el proxy | la latencia del servidor | el modo sin conexión
    el controlador de la impresora | la migración de datos
    [es cancellation]
    el aviso de rescisión | la baja de nuestro equipo | la desactivación de la cuenta
    la no renovación | terminar el contrato antes | la cláusula de rescisión
    cerrar todas las licencias | no continuar el año que viene | dejar el servicio
    [es general]
    el programa de prácticas | una entrevista para un podcast | el kit de prensa
    la conferencia de usuarios | el examen de certificación
    un caso de éxito con nuestra empresa | el programa de afiliados | la guía de marca
    un patrocinio | la página de empleo | el boletín | el programa beta
    """
)

# --- new_world: a product launch and a label the old models never saw ----------------------

# Background that mentions the launch.
LAUNCH: Final[LangPools] = _sections(
    """
    [en]
    This started after the Orbit launch. | I'm using the new Orbit assistant.
    It's about the Orbit add-on you launched this week.
    Since Orbit went live things changed.
    [es]
    Empezó después del lanzamiento de Orbit. | Uso el nuevo asistente Orbit.
    Es sobre el complemento Orbit que lanzaron esta semana.
    """
)

# Requests about the launched product itself, per team: new words for an old label.
LAUNCH_CORE: Final[dict[str, dict[str, Pool]]] = _sections(
    """
    [en billing] I was charged for the Orbit add-on without asking. | Is Orbit included in my plan?
    [en technical] The Orbit assistant gives an error on every question. | Orbit won't load for me.
    [en cancellation] Remove Orbit and cancel my subscription. | Cancel Orbit, I never wanted it.
    [en general] Where can I read more about Orbit? | Is there a webinar about the Orbit launch?
    [es billing] Me cobraron el complemento Orbit sin pedirlo. | ¿Orbit está incluido en mi plan?
    [es technical] El asistente Orbit da error en cada pregunta. | Orbit no carga.
    [es cancellation] Quiten Orbit y cancelen mi suscripción.
    [es general] ¿Dónde leo más sobre Orbit? | ¿Hay un webinar sobre el lanzamiento de Orbit?
    """
)

SECURITY: Final[LangPools] = _sections(
    """
    [en]
    Someone logged into my account from another country. | I got a 2FA code I never asked for.
    I think my account was hacked, the email address was changed.
    I received a phishing email pretending to be you asking for my password.
    There are sessions in my account I don't recognise.
    My two-factor authentication stopped accepting codes and I'm worried someone got in.
    Please lock my account, I think someone stole my password.
    [es]
    Alguien entró en mi cuenta desde otro país.
    Me llegó un código de verificación que no pedí.
    Creo que hackearon mi cuenta, cambiaron el correo.
    Recibí un correo falso pidiendo mi contraseña.
    Bloqueen mi cuenta, creo que me robaron la contraseña.
    """
)
