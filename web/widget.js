// Careline patient chat widget. A health plan adds one tag to its pages:
//
//   <script src="https://chat.example-plan.org/widget.js" defer></script>
//
// Optional attributes: data-lang="es" (the default language; otherwise the page's <html lang>),
// data-open="true" (open on load). The widget lives in a shadow root so the host page's styles
// cannot break it and its styles cannot leak out. Nothing here keeps a message only in memory: what
// the patient has not yet seen acknowledged stays in sessionStorage until the server has stored it.
(() => {
  "use strict";
  const script = document.currentScript;
  const server = new URL(script.src).origin;
  const STORE_KEY = "careline-chat:" + server;

  /** The languages in their own names, in the order US health plans serve them. */
  const LANGUAGES = [
    ["en", "English"], ["es", "Español"], ["zh", "中文"], ["vi", "Tiếng Việt"], ["ko", "한국어"],
    ["tl", "Tagalog"], ["ru", "Русский"], ["ar", "العربية"], ["fr", "Français"],
    ["ht", "Kreyòl ayisyen"], ["pt", "Português"],
  ];

  /** The widget's own words, written in each language (the conversation itself comes from the flows). */
  const TEXT = {
    en: { open: "Chat with us", language: "Language", message: "Your message", placeholder: "Type your message", send: "Send", person: "Talk to a person", end: "End chat", minimize: "Minimize chat", typing: "An agent is typing…", queue: "You are number {position} in line. Estimated wait: about {minutes} min.", queue_unknown: "You are number {position} in line.", with_person: "You are chatting with a person.", offline: "Connection lost. Reconnecting… Nothing you wrote is lost.", sending: "Sending…", unsent: "Waiting to send", rate: "How was this chat?", star: "{n} of 5", thanks: "Thank you for your rating.", closed: "This chat has ended.", new_chat: "Start a new chat", crisis_title: "Help is available right now", call_988: "Call or text 988", call_911: "Call 911", you: "You", bot: "Assistant", agent: "Agent", notice: "Notice", failed: "Not sent: {error}", too_long: "This message is too long. Please send it in shorter parts." },
    es: { open: "Chatee con nosotros", language: "Idioma", message: "Su mensaje", placeholder: "Escriba su mensaje", send: "Enviar", person: "Hablar con una persona", end: "Terminar el chat", minimize: "Minimizar el chat", typing: "Un agente está escribiendo…", queue: "Usted es el número {position} en la fila. Espera estimada: unos {minutes} min.", queue_unknown: "Usted es el número {position} en la fila.", with_person: "Está chateando con una persona.", offline: "Se perdió la conexión. Reconectando… No se pierde nada de lo que escribió.", sending: "Enviando…", unsent: "Pendiente de envío", rate: "¿Qué tal fue este chat?", star: "{n} de 5", thanks: "Gracias por su calificación.", closed: "Este chat ha terminado.", new_chat: "Iniciar un chat nuevo", crisis_title: "Hay ayuda disponible ahora mismo", call_988: "Llame o envíe un texto al 988", call_911: "Llame al 911", you: "Usted", bot: "Asistente", agent: "Agente", notice: "Aviso", failed: "No se envió: {error}", too_long: "Este mensaje es demasiado largo. Envíelo en partes más cortas." },
    zh: { open: "在线咨询", language: "语言", message: "您的消息", placeholder: "请输入您的消息", send: "发送", person: "转人工客服", end: "结束聊天", minimize: "最小化聊天窗口", typing: "客服正在输入…", queue: "您目前排在第 {position} 位。预计等待约 {minutes} 分钟。", queue_unknown: "您目前排在第 {position} 位。", with_person: "您正在与工作人员聊天。", offline: "连接已断开，正在重新连接…您输入的内容不会丢失。", sending: "正在发送…", unsent: "等待发送", rate: "您对本次聊天满意吗？", star: "{n} 分（满分 5 分）", thanks: "感谢您的评分。", closed: "本次聊天已结束。", new_chat: "开始新的聊天", crisis_title: "现在就可以获得帮助", call_988: "拨打或发短信至 988", call_911: "拨打 911", you: "您", bot: "智能助手", agent: "客服", notice: "通知", failed: "发送失败：{error}", too_long: "这条消息太长了，请分成几段发送。" },
    vi: { open: "Trò chuyện với chúng tôi", language: "Ngôn ngữ", message: "Tin nhắn của bạn", placeholder: "Nhập tin nhắn của bạn", send: "Gửi", person: "Nói chuyện với nhân viên", end: "Kết thúc trò chuyện", minimize: "Thu nhỏ cửa sổ trò chuyện", typing: "Nhân viên đang soạn tin…", queue: "Bạn đang ở vị trí số {position}. Thời gian chờ ước tính: khoảng {minutes} phút.", queue_unknown: "Bạn đang ở vị trí số {position}.", with_person: "Bạn đang trò chuyện với nhân viên.", offline: "Mất kết nối. Đang kết nối lại… Những gì bạn đã viết không bị mất.", sending: "Đang gửi…", unsent: "Đang chờ gửi", rate: "Bạn thấy cuộc trò chuyện này thế nào?", star: "{n} trên 5", thanks: "Cảm ơn bạn đã đánh giá.", closed: "Cuộc trò chuyện đã kết thúc.", new_chat: "Bắt đầu cuộc trò chuyện mới", crisis_title: "Có sự trợ giúp ngay bây giờ", call_988: "Gọi hoặc nhắn tin đến 988", call_911: "Gọi 911", you: "Bạn", bot: "Trợ lý", agent: "Nhân viên", notice: "Thông báo", failed: "Không gửi được: {error}", too_long: "Tin nhắn này quá dài. Vui lòng gửi thành nhiều phần ngắn hơn." },
    ko: { open: "채팅 상담", language: "언어", message: "메시지", placeholder: "메시지를 입력하세요", send: "보내기", person: "상담원과 대화하기", end: "채팅 종료", minimize: "채팅 창 최소화", typing: "상담원이 입력 중입니다…", queue: "현재 대기 순서는 {position}번입니다. 예상 대기 시간: 약 {minutes}분.", queue_unknown: "현재 대기 순서는 {position}번입니다.", with_person: "상담원과 연결되었습니다.", offline: "연결이 끊어졌습니다. 다시 연결하는 중… 작성하신 내용은 사라지지 않습니다.", sending: "보내는 중…", unsent: "전송 대기 중", rate: "이번 채팅은 어떠셨나요?", star: "5점 중 {n}점", thanks: "평가해 주셔서 감사합니다.", closed: "채팅이 종료되었습니다.", new_chat: "새 채팅 시작", crisis_title: "지금 바로 도움을 받을 수 있습니다", call_988: "988로 전화 또는 문자", call_911: "911에 전화", you: "나", bot: "도우미", agent: "상담원", notice: "알림", failed: "보내지 못했습니다: {error}", too_long: "메시지가 너무 깁니다. 더 짧게 나누어 보내 주세요." },
    tl: { open: "Makipag-chat sa amin", language: "Wika", message: "Ang iyong mensahe", placeholder: "I-type ang iyong mensahe", send: "Ipadala", person: "Makipag-usap sa isang tao", end: "Tapusin ang chat", minimize: "I-minimize ang chat", typing: "Nagta-type ang isang ahente…", queue: "Ikaw ay pang-{position} sa pila. Tinatayang paghihintay: mga {minutes} minuto.", queue_unknown: "Ikaw ay pang-{position} sa pila.", with_person: "Kausap mo na ang isang tao.", offline: "Nawala ang koneksyon. Muling kumokonekta… Walang nawala sa iyong isinulat.", sending: "Ipinapadala…", unsent: "Naghihintay maipadala", rate: "Kumusta ang chat na ito?", star: "{n} sa 5", thanks: "Salamat sa iyong marka.", closed: "Natapos na ang chat na ito.", new_chat: "Magsimula ng bagong chat", crisis_title: "May tulong na makukuha ngayon din", call_988: "Tumawag o mag-text sa 988", call_911: "Tumawag sa 911", you: "Ikaw", bot: "Katulong", agent: "Ahente", notice: "Paunawa", failed: "Hindi naipadala: {error}", too_long: "Masyadong mahaba ang mensaheng ito. Pakipadala ito nang hati-hati." },
    ru: { open: "Чат с нами", language: "Язык", message: "Ваше сообщение", placeholder: "Введите сообщение", send: "Отправить", person: "Поговорить с сотрудником", end: "Завершить чат", minimize: "Свернуть чат", typing: "Сотрудник печатает…", queue: "Ваш номер в очереди: {position}. Примерное ожидание: около {minutes} мин.", queue_unknown: "Ваш номер в очереди: {position}.", with_person: "Вы общаетесь с сотрудником.", offline: "Соединение потеряно. Переподключение… Всё, что вы написали, сохранено.", sending: "Отправка…", unsent: "Ожидает отправки", rate: "Как прошёл этот чат?", star: "{n} из 5", thanks: "Спасибо за оценку.", closed: "Чат завершён.", new_chat: "Начать новый чат", crisis_title: "Помощь доступна прямо сейчас", call_988: "Позвоните или напишите на 988", call_911: "Позвоните 911", you: "Вы", bot: "Помощник", agent: "Сотрудник", notice: "Уведомление", failed: "Не отправлено: {error}", too_long: "Сообщение слишком длинное. Отправьте его несколькими частями." },
    ar: { open: "تحدث معنا", language: "اللغة", message: "رسالتك", placeholder: "اكتب رسالتك", send: "إرسال", person: "التحدث مع شخص", end: "إنهاء المحادثة", minimize: "تصغير نافذة المحادثة", typing: "أحد الموظفين يكتب…", queue: "ترتيبك في قائمة الانتظار: {position}. مدة الانتظار المتوقعة: حوالي {minutes} دقيقة.", queue_unknown: "ترتيبك في قائمة الانتظار: {position}.", with_person: "أنت الآن تتحدث مع شخص.", offline: "انقطع الاتصال. جارٍ إعادة الاتصال… لن يضيع شيء مما كتبته.", sending: "جارٍ الإرسال…", unsent: "في انتظار الإرسال", rate: "كيف كانت هذه المحادثة؟", star: "{n} من 5", thanks: "شكرًا لتقييمك.", closed: "انتهت هذه المحادثة.", new_chat: "بدء محادثة جديدة", crisis_title: "المساعدة متاحة الآن", call_988: "اتصل أو أرسل رسالة نصية إلى 988", call_911: "اتصل بالرقم 911", you: "أنت", bot: "المساعد", agent: "الموظف", notice: "تنبيه", failed: "لم يُرسَل: {error}", too_long: "هذه الرسالة طويلة جدًا. يرجى إرسالها على أجزاء أقصر." },
    fr: { open: "Discutez avec nous", language: "Langue", message: "Votre message", placeholder: "Écrivez votre message", send: "Envoyer", person: "Parler à une personne", end: "Terminer la discussion", minimize: "Réduire la discussion", typing: "Un conseiller écrit…", queue: "Vous êtes le numéro {position} dans la file. Attente estimée : environ {minutes} min.", queue_unknown: "Vous êtes le numéro {position} dans la file.", with_person: "Vous discutez avec une personne.", offline: "Connexion perdue. Reconnexion… Rien de ce que vous avez écrit n’est perdu.", sending: "Envoi…", unsent: "En attente d’envoi", rate: "Comment s’est passée cette discussion ?", star: "{n} sur 5", thanks: "Merci pour votre note.", closed: "Cette discussion est terminée.", new_chat: "Commencer une nouvelle discussion", crisis_title: "De l’aide est disponible immédiatement", call_988: "Appelez ou envoyez un SMS au 988", call_911: "Appelez le 911", you: "Vous", bot: "Assistant", agent: "Conseiller", notice: "Information", failed: "Non envoyé : {error}", too_long: "Ce message est trop long. Envoyez-le en plusieurs parties plus courtes." },
    ht: { open: "Pale ak nou", language: "Lang", message: "Mesaj ou", placeholder: "Ekri mesaj ou", send: "Voye", person: "Pale ak yon moun", end: "Fini chat la", minimize: "Redwi fenèt chat la", typing: "Yon ajan ap ekri…", queue: "Ou se nimewo {position} nan liy lan. Tan pou tann: anviwon {minutes} minit.", queue_unknown: "Ou se nimewo {position} nan liy lan.", with_person: "W ap pale ak yon moun kounye a.", offline: "Koneksyon an koupe. N ap rekonekte… Anyen ou te ekri pa pèdi.", sending: "N ap voye…", unsent: "Ap tann pou voye", rate: "Kijan chat sa a te ye?", star: "{n} sou 5", thanks: "Mèsi pou nòt ou bay la.", closed: "Chat sa a fini.", new_chat: "Kòmanse yon nouvo chat", crisis_title: "Gen èd disponib kounye a menm", call_988: "Rele oswa voye tèks bay 988", call_911: "Rele 911", you: "Ou", bot: "Asistan", agent: "Ajan", notice: "Avi", failed: "Li pa t ale: {error}", too_long: "Mesaj sa a twò long. Tanpri voye l an plizyè ti mòso." },
    pt: { open: "Converse conosco", language: "Idioma", message: "Sua mensagem", placeholder: "Digite sua mensagem", send: "Enviar", person: "Falar com uma pessoa", end: "Encerrar a conversa", minimize: "Minimizar a conversa", typing: "Um atendente está digitando…", queue: "Você é o número {position} na fila. Espera estimada: cerca de {minutes} min.", queue_unknown: "Você é o número {position} na fila.", with_person: "Você está conversando com uma pessoa.", offline: "Conexão perdida. Reconectando… Nada do que você escreveu foi perdido.", sending: "Enviando…", unsent: "Aguardando envio", rate: "Como foi esta conversa?", star: "{n} de 5", thanks: "Obrigado pela sua avaliação.", closed: "Esta conversa terminou.", new_chat: "Iniciar uma nova conversa", crisis_title: "Há ajuda disponível agora mesmo", call_988: "Ligue ou envie uma mensagem de texto para 988", call_911: "Ligue para 911", you: "Você", bot: "Assistente", agent: "Atendente", notice: "Aviso", failed: "Não enviado: {error}", too_long: "Esta mensagem é muito longa. Envie-a em partes menores." },
  };

  const supported = (code) => LANGUAGES.some(([c]) => c === code);
  const primary = (tag) => (tag || "").toLowerCase().split(/[-_]/)[0];
  const pageLang = supported(primary(script.dataset.lang)) ? primary(script.dataset.lang)
    : supported(primary(document.documentElement.lang)) ? primary(document.documentElement.lang) : "en";
  /** The server's limit is 4096 bytes: Chinese or Arabic reach it in fewer characters than English. */
  const MAX_BYTES = 4096;
  const REQUEST_TIMEOUT_MS = 15000;

  // ---- the chat's durable client state -----------------------------------------------------------

  /**
   * { chatId, token, open, chosen, pending: [{ id, text }] }. `id` is the message's client_id: the
   * server stores a message once per id however often it is sent, and the stored copy carries it.
   */
  let saved = load();
  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE_KEY)) || { pending: [] }; } catch { return { pending: [] }; }
  }
  function persist() {
    try { sessionStorage.setItem(STORE_KEY, JSON.stringify(saved)); } catch { /* storage full or off: memory only */ }
  }
  const newId = () => "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);

  const messages = new Map(); // seq -> message: a message seen twice is shown once
  let state = null;
  let lang = supported(saved.lang) ? saved.lang : pageLang;
  let socket = null;
  let reconnectDelay = 500;
  let flushing = false;
  let online = true;
  let typingTimer = null;
  let lastTypingSent = 0;

  // ---- the DOM -----------------------------------------------------------------------------------

  const host = document.createElement("div");
  host.id = "careline-widget";
  document.body.appendChild(host);
  const root = host.attachShadow({ mode: "open" });
  const el = (tag, attrs = {}, children = []) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  /** Writes text only when it changes: live regions announce every write, even of the same words. */
  const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };

  root.append(el("link", { rel: "stylesheet", href: server + "/assets/widget.css" }));
  const launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "cl-panel" });
  const panel = el("section", { id: "cl-panel", class: "panel", role: "dialog", "aria-labelledby": "cl-title", hidden: "" });
  const title = el("h2", { id: "cl-title", tabindex: "-1" });
  const picker = el("select", { id: "cl-lang" });
  for (const [code, name] of LANGUAGES) picker.append(el("option", { value: code, lang: code, text: name }));
  const pickerLabel = el("label", { for: "cl-lang" });
  const minimize = el("button", { type: "button", class: "icon", "data-role": "minimize" }, ["×"]);
  const crisis = el("div", { class: "crisis-banner", role: "alert", hidden: "" });
  const crisisTitle = el("strong", { class: "crisis-title" });
  const crisisText = el("p", { class: "crisis-text" });
  const call988 = el("a", { href: "tel:988", class: "crisis-call" });
  const call911 = el("a", { href: "tel:911", class: "crisis-call" });
  crisis.append(crisisTitle, crisisText, el("p", { class: "crisis-links" }, [call988, call911]));
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const list = el("ol", { class: "messages" });
  const pendingList = el("ol", { class: "messages" });
  const log = el("div", { class: "log", role: "log", "aria-live": "polite", tabindex: "0" }, [list, pendingList]);
  const typing = el("p", { class: "typing", "aria-live": "polite" });
  const problem = el("p", { class: "problem", role: "alert", hidden: "" });
  const rating = el("fieldset", { class: "rating", hidden: "" });
  const ratingLegend = el("legend");
  const stars = [1, 2, 3, 4, 5].map((n) => el("button", { type: "button", class: "star", "data-score": String(n) }, [String(n)]));
  const thanks = el("p", { class: "thanks", hidden: "", tabindex: "-1" });
  rating.append(ratingLegend, el("div", { class: "stars" }, stars));
  const form = el("form", { class: "compose" });
  const inputLabel = el("label", { for: "cl-input", class: "sr-only" });
  const input = el("textarea", { id: "cl-input", rows: "2", autocomplete: "off" });
  const send = el("button", { type: "submit", class: "send" });
  form.append(inputLabel, input, send);
  const person = el("button", { type: "button", class: "person" });
  const end = el("button", { type: "button", class: "end" });
  const newChat = el("button", { type: "button", class: "new", hidden: "" });
  panel.append(
    el("header", {}, [title, el("div", { class: "header-tools" }, [pickerLabel, picker, minimize])]),
    crisis, status, log, typing, problem, rating, thanks, form,
    el("div", { class: "actions" }, [person, end, newChat]),
  );
  root.append(launcher, panel);

  const t = (key, vars = {}) => (TEXT[lang] || TEXT.en)[key].replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");

  /** Every word of the widget in the chat's language; Arabic is laid out right to left. */
  function relabel() {
    panel.lang = lang;
    panel.dir = lang === "ar" ? "rtl" : "ltr";
    launcher.lang = lang;
    launcher.textContent = t("open");
    title.textContent = t("open");
    pickerLabel.textContent = t("language");
    picker.value = lang;
    minimize.setAttribute("aria-label", t("minimize"));
    crisisTitle.textContent = t("crisis_title");
    call988.textContent = t("call_988");
    call911.textContent = t("call_911");
    log.setAttribute("aria-label", t("open"));
    ratingLegend.textContent = t("rate");
    stars.forEach((s, i) => s.setAttribute("aria-label", t("star", { n: i + 1 })));
    thanks.textContent = t("thanks");
    inputLabel.textContent = t("message");
    input.placeholder = t("placeholder");
    send.textContent = t("send");
    person.textContent = t("person");
    end.textContent = t("end");
    newChat.textContent = t("new_chat");
    renderStatus();
    // Sender labels are words too: rebuild the (already read) messages once in the new language.
    list.replaceChildren();
    for (const m of [...messages.values()].sort((a, b) => a.seq - b.seq)) list.append(messageNode(m));
    renderPending();
  }

  function renderStatus() {
    status.classList.toggle("warn", !online);
    if (!online) { setText(status, t("offline")); return; }
    const h = state && state.handoff;
    let text = "";
    if (state && state.status === "queued" && h && h.position) {
      text = h.estimated_wait_seconds != null
        ? t("queue", { position: h.position, minutes: Math.max(1, Math.round(h.estimated_wait_seconds / 60)) })
        : t("queue_unknown", { position: h.position });
    } else if (state && state.status === "agent") {
      text = t("with_person");
    } else if (state && state.status === "closed") {
      text = t("closed");
    }
    setText(status, text);
  }

  function messageNode(m) {
    const who = m.sender === "patient" ? t("you") : m.sender === "agent" ? (m.author || t("agent"))
      : m.sender === "bot" ? t("bot") : t("notice");
    return el("li", { class: `msg ${m.sender} ${m.kind}`, "data-seq": String(m.seq), dir: "auto" }, [
      el("span", { class: "who", text: who + ": " }),
      el("span", { class: "text", text: m.text }),
    ]);
  }

  /** Adds a message in transcript order, once: the log region announces only what is new. */
  function place(m) {
    if (messages.has(m.seq)) return;
    messages.set(m.seq, m);
    const node = messageNode(m);
    const later = [...list.children].find((li) => Number(li.dataset.seq) > m.seq);
    list.insertBefore(node, later || null);
  }

  function renderPending() {
    const note = online ? t("sending") : t("unsent");
    const ids = new Set(saved.pending.map((p) => p.id));
    for (const li of [...pendingList.children]) if (!ids.has(li.dataset.pending)) li.remove();
    for (const p of saved.pending) {
      let li = pendingList.querySelector(`[data-pending="${p.id}"]`);
      if (!li) {
        li = el("li", { class: "msg patient pending", "data-pending": p.id, dir: "auto" }, [
          el("span", { class: "who", text: t("you") + ": " }),
          el("span", { class: "text", text: p.text }),
          el("span", { class: "note" }),
        ]);
        pendingList.append(li);
      }
      setText(li.querySelector(".note"), note);
    }
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function merge(incoming) {
    let added = false;
    for (const m of incoming || []) {
      if (!messages.has(m.seq)) added = true;
      place(m);
      if (m.kind === "crisis") showCrisis(m.text);
      // The stored copy of a message still shown as waiting: it arrived, so it is no longer waiting.
      if (m.client_id && saved.pending.some((p) => p.id === m.client_id)) {
        saved.pending = saved.pending.filter((p) => p.id !== m.client_id);
        persist();
      }
    }
    renderPending();
    if (added) scrollDown();
  }

  function showCrisis(text) {
    setText(crisisText, text);
    if (crisis.hidden) {
      crisis.hidden = false;
      open();
    }
  }

  function applyState(s) {
    if (!s) return;
    state = s;
    if (s.language && s.language !== lang) { lang = s.language; relabel(); }
    const closed = s.status === "closed";
    const hadFocus = root.activeElement;
    form.hidden = closed;
    person.hidden = closed || s.status !== "bot";
    end.hidden = closed;
    newChat.hidden = !closed;
    rating.hidden = s.rated || !(closed || s.awaiting_rating);
    thanks.hidden = !s.rated;
    renderStatus();
    // Never leave keyboard focus on something that just disappeared.
    if (hadFocus && hadFocus.closest("[hidden]")) (rating.hidden ? (s.rated ? thanks : newChat) : stars[0]).focus();
  }

  // ---- talking to the server ---------------------------------------------------------------------

  class HttpError extends Error {
    constructor(status, message, retryAfter) { super(message); this.status = status; this.retryAfter = retryAfter; }
  }

  async function api(method, path, body, headers = {}) {
    const h = { ...headers };
    if (saved.token) h.authorization = "Bearer " + saved.token;
    if (body !== undefined) h["content-type"] = "application/json";
    const r = await fetch(server + "/api/v1" + path, {
      method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new HttpError(r.status, data.error || r.statusText, Number(r.headers.get("retry-after")) || 0);
    return data;
  }

  function backoff() {
    const d = reconnectDelay;
    reconnectDelay = Math.min(reconnectDelay * 2, 10000);
    return d;
  }

  /** Starts the chat once, however many callers ask at the same moment. */
  let starting = null;
  function start() {
    starting ||= (async () => {
      // A language the patient picked is a choice (it wins); the page's language is only a hint.
      const body = saved.chosen ? { lang } : {};
      const data = await api("POST", "/chats", body, { "accept-language": lang });
      saved.chatId = data.chat_id;
      saved.token = data.token;
      persist();
      merge(data.replies);
      applyState(data.state);
      connect();
    })().finally(() => { starting = null; });
    return starting;
  }

  /** The chat this browser had no longer opens (purged, or the server was reset): start afresh, keeping what is unsent. */
  function forget() {
    Object.assign(saved, { chatId: undefined, token: undefined });
    persist();
    messages.clear();
    list.replaceChildren();
    state = null;
    if (socket) socket.close();
  }

  /** The transcript from the server: fills anything a dropped socket missed, by seq, never twice. */
  async function sync() {
    const chatId = saved.chatId;
    const data = await api("GET", `/chats/${chatId}`);
    if (saved.chatId !== chatId) return;
    merge(data.messages);
    applyState(data.state);
  }

  /** After a page load or an outage: the transcript, the live socket, then anything unsent. */
  async function resume() {
    try {
      await sync();
      connect();
      flush();
    } catch (e) {
      if (e instanceof HttpError && (e.status === 403 || e.status === 404)) { forget(); deliver(); return; }
      setOnline(false);
      setTimeout(resume, backoff());
    }
  }

  function connect() {
    if (!saved.chatId || socket || (state && state.status === "closed")) return;
    const url = new URL(`/api/v1/chats/${saved.chatId}/ws`, server);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", saved.token);
    const ws = new WebSocket(url);
    socket = ws;
    ws.onopen = async () => {
      reconnectDelay = 500;
      setOnline(true);
      try { await sync(); } catch { /* the next event or retry catches up */ }
      flush();
    };
    ws.onmessage = (ev) => {
      const n = JSON.parse(ev.data);
      if (n.type === "status") applyState(n.state);
      else if (n.type === "message") { merge([n.message]); if (n.message.sender === "agent") showTyping(false); }
      else if (n.type === "typing") showTyping(true);
      else if (n.type === "resync") sync().catch(() => {});
    };
    ws.onclose = () => {
      if (socket === ws) socket = null;
      if (!saved.chatId || (state && state.status === "closed")) return;
      setOnline(false);
      setTimeout(connect, backoff());
    };
  }

  function setOnline(value) {
    if (online === value) return;
    online = value;
    renderStatus();
    renderPending();
  }

  function showTyping(on) {
    clearTimeout(typingTimer);
    setText(typing, on ? t("typing") : "");
    if (on) typingTimer = setTimeout(() => setText(typing, ""), 5000);
  }

  /**
   * Sends the waiting messages in order, one at a time, each under its own client_id. After a lost
   * answer or a network failure the same message is sent again under the same id, and the server
   * stores it once. Nothing is dropped and nothing is doubled.
   */
  async function flush() {
    if (flushing || !saved.pending.length || !saved.chatId) return;
    flushing = true;
    const chatId = saved.chatId;
    try {
      while (saved.pending.length && saved.chatId === chatId) {
        const p = saved.pending[0];
        const data = await api("POST", `/chats/${chatId}/messages`, { text: p.text, client_id: p.id });
        if (saved.chatId !== chatId) break;
        saved.pending = saved.pending.filter((q) => q !== p && q.id !== p.id);
        persist();
        merge(data.replies);
        applyState(data.state);
        if (!messages.size || data.duplicate) await sync().catch(() => {});
      }
      // The patient's own stored copy comes by the socket; fetch it if the socket is down.
      if (!socket || socket.readyState !== WebSocket.OPEN) await sync().catch(() => {});
    } catch (e) {
      const p = saved.pending[0];
      if (e instanceof HttpError && e.status === 429) {
        setTimeout(flush, (e.retryAfter || 5) * 1000);
      } else if (e instanceof HttpError && (e.status === 403 || e.status === 404)) {
        forget();
        setTimeout(deliver, 0);
      } else if (e instanceof HttpError && e.status < 500 && p) {
        // Refused for a reason the patient can act on (too long, chat closed): the words go back into
        // the box, with the reason, rather than vanish; the messages behind it still go.
        saved.pending.shift();
        persist();
        input.value = input.value ? `${p.text}\n${input.value}` : p.text;
        showProblem(refusal(e));
        if (e.status === 409) sync().catch(() => {});
        else setTimeout(flush, 0);
      } else {
        setOnline(false);
        setTimeout(() => { if (navigator.onLine) setOnline(true); flush(); }, backoff());
      }
      renderPending();
    } finally {
      flushing = false;
    }
  }

  function showProblem(text) {
    problem.textContent = text;
    problem.hidden = false;
  }

  function submit(text) {
    text = text.trim();
    if (!text) return;
    if (new TextEncoder().encode(text).length > MAX_BYTES) {
      input.value = text;
      showProblem(t("too_long"));
      return;
    }
    saved.pending.push({ id: newId(), text });
    persist();
    renderPending();
    scrollDown();
    deliver();
  }

  /** Makes sure there is a chat, then sends what waits. */
  async function deliver() {
    if (!saved.pending.length && saved.chatId) return;
    if (!saved.chatId) {
      try { await start(); } catch { setOnline(false); setTimeout(deliver, backoff()); return; }
    }
    flush();
  }

  // What the patient reads when a message or button is refused: in their language for what they
  // can meet (the chat ended, a message too long); the server's reason, in English, only for the rest.
  function refusal(e) {
    if (e instanceof HttpError && e.status === 409) return t("closed");
    if (e instanceof HttpError && e.status === 413) return t("too_long");
    return t("failed", { error: e.message });
  }

  async function action(path, body) {
    try {
      const data = await api("POST", `/chats/${saved.chatId}/${path}`, body);
      merge(data.replies);
      applyState(data.state);
      return true;
    } catch (e) {
      showProblem(refusal(e));
      return false;
    }
  }

  // ---- events ------------------------------------------------------------------------------------

  /** Opens the window. Only a person's click moves the keyboard focus into it. */
  function open(focus = false) {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.hidden = true;
    saved.open = true;
    persist();
    if (focus) (form.hidden ? title : input).focus();
    if (!saved.chatId) start().catch(() => { setOnline(false); setTimeout(() => saved.chatId || start().catch(() => {}), backoff()); });
    else if (!state) resume();
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    saved.open = false;
    persist();
    launcher.focus();
  }

  launcher.addEventListener("click", () => open(true));
  minimize.addEventListener("click", close);
  panel.addEventListener("keydown", (e) => { if (e.key === "Escape" && e.target !== picker) close(); });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    problem.hidden = true;
    lastTypingSent = 0;
    const text = input.value;
    input.value = "";
    submit(text);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  input.addEventListener("input", () => {
    const now = Date.now();
    if (socket && socket.readyState === WebSocket.OPEN && now - lastTypingSent > 2000) {
      lastTypingSent = now;
      socket.send(JSON.stringify({ type: "typing" }));
    }
  });
  picker.addEventListener("change", () => {
    lang = picker.value;
    saved.chosen = true;
    saved.lang = lang;
    persist();
    relabel();
    if (saved.chatId && state && state.status !== "closed") action("language", { lang });
  });
  person.addEventListener("click", () => action("agent"));
  end.addEventListener("click", () => action("close"));
  stars.forEach((s) => s.addEventListener("click", async () => {
    if (await action("rating", { score: Number(s.dataset.score) })) thanks.focus();
  }));
  newChat.addEventListener("click", () => {
    forget();
    saved = { pending: [], open: true, chosen: saved.chosen, lang: saved.lang };
    persist();
    crisis.hidden = true;
    rating.hidden = true;
    thanks.hidden = true;
    newChat.hidden = true;
    form.hidden = false;
    end.hidden = false;
    person.hidden = false;
    renderStatus();
    start().then(() => input.focus()).catch(() => setOnline(false));
  });
  window.addEventListener("online", () => {
    setOnline(true);
    if (saved.chatId) { connect(); flush(); } else if (saved.pending.length) deliver();
  });
  window.addEventListener("offline", () => setOnline(false));
  // While waiting, the place in line moves as others are served: refresh it.
  setInterval(() => { if (online && state && state.status === "queued" && !panel.hidden) sync().catch(() => {}); }, 20000);

  relabel();
  if (saved.chatId && saved.open !== false) open(false);
  else if (saved.chatId) resume();
  else if (saved.pending.length) deliver();
  else if (script.dataset.open === "true") open(false);
})();
