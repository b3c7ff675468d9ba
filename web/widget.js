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
    en: { open: "Chat with us", language: "Language", message: "Your message", placeholder: "Type your message", send: "Send", person: "Talk to a person", end: "End chat", minimize: "Minimize chat", typing: "An agent is typing…", queue: "You are number {position} in line. Estimated wait: about {minutes} min.", queue_unknown: "You are number {position} in line.", with_person: "You are chatting with a person.", offline: "Connection lost. Reconnecting… Nothing you wrote is lost.", sending: "Sending…", unsent: "Waiting to send", rate: "How was this chat?", star: "{n} of 5", thanks: "Thank you for your rating.", closed: "This chat has ended.", new_chat: "Start a new chat", crisis_title: "Help is available right now", call_988: "Call or text 988", call_911: "Call 911", you: "You", bot: "Assistant", agent: "Agent", notice: "Notice", failed: "Not sent: {error}" },
    es: { open: "Chatee con nosotros", language: "Idioma", message: "Su mensaje", placeholder: "Escriba su mensaje", send: "Enviar", person: "Hablar con una persona", end: "Terminar el chat", minimize: "Minimizar el chat", typing: "Un agente está escribiendo…", queue: "Usted es el número {position} en la fila. Espera estimada: unos {minutes} min.", queue_unknown: "Usted es el número {position} en la fila.", with_person: "Está chateando con una persona.", offline: "Se perdió la conexión. Reconectando… No se pierde nada de lo que escribió.", sending: "Enviando…", unsent: "Pendiente de envío", rate: "¿Qué tal fue este chat?", star: "{n} de 5", thanks: "Gracias por su calificación.", closed: "Este chat ha terminado.", new_chat: "Iniciar un chat nuevo", crisis_title: "Hay ayuda disponible ahora mismo", call_988: "Llame o envíe un texto al 988", call_911: "Llame al 911", you: "Usted", bot: "Asistente", agent: "Agente", notice: "Aviso", failed: "No se envió: {error}" },
    zh: { open: "在线咨询", language: "语言", message: "您的消息", placeholder: "请输入您的消息", send: "发送", person: "转人工客服", end: "结束聊天", minimize: "最小化聊天窗口", typing: "客服正在输入…", queue: "您目前排在第 {position} 位。预计等待约 {minutes} 分钟。", queue_unknown: "您目前排在第 {position} 位。", with_person: "您正在与工作人员聊天。", offline: "连接已断开，正在重新连接…您输入的内容不会丢失。", sending: "正在发送…", unsent: "等待发送", rate: "您对本次聊天满意吗？", star: "{n} 分（满分 5 分）", thanks: "感谢您的评分。", closed: "本次聊天已结束。", new_chat: "开始新的聊天", crisis_title: "现在就可以获得帮助", call_988: "拨打或发短信至 988", call_911: "拨打 911", you: "您", bot: "智能助手", agent: "客服", notice: "通知", failed: "发送失败：{error}" },
    vi: { open: "Trò chuyện với chúng tôi", language: "Ngôn ngữ", message: "Tin nhắn của bạn", placeholder: "Nhập tin nhắn của bạn", send: "Gửi", person: "Nói chuyện với nhân viên", end: "Kết thúc trò chuyện", minimize: "Thu nhỏ cửa sổ trò chuyện", typing: "Nhân viên đang soạn tin…", queue: "Bạn đang ở vị trí số {position}. Thời gian chờ ước tính: khoảng {minutes} phút.", queue_unknown: "Bạn đang ở vị trí số {position}.", with_person: "Bạn đang trò chuyện với nhân viên.", offline: "Mất kết nối. Đang kết nối lại… Những gì bạn đã viết không bị mất.", sending: "Đang gửi…", unsent: "Đang chờ gửi", rate: "Bạn thấy cuộc trò chuyện này thế nào?", star: "{n} trên 5", thanks: "Cảm ơn bạn đã đánh giá.", closed: "Cuộc trò chuyện đã kết thúc.", new_chat: "Bắt đầu cuộc trò chuyện mới", crisis_title: "Có sự trợ giúp ngay bây giờ", call_988: "Gọi hoặc nhắn tin đến 988", call_911: "Gọi 911", you: "Bạn", bot: "Trợ lý", agent: "Nhân viên", notice: "Thông báo", failed: "Không gửi được: {error}" },
    ko: { open: "채팅 상담", language: "언어", message: "메시지", placeholder: "메시지를 입력하세요", send: "보내기", person: "상담원과 대화하기", end: "채팅 종료", minimize: "채팅 창 최소화", typing: "상담원이 입력 중입니다…", queue: "현재 대기 순서는 {position}번입니다. 예상 대기 시간: 약 {minutes}분.", queue_unknown: "현재 대기 순서는 {position}번입니다.", with_person: "상담원과 연결되었습니다.", offline: "연결이 끊어졌습니다. 다시 연결하는 중… 작성하신 내용은 사라지지 않습니다.", sending: "보내는 중…", unsent: "전송 대기 중", rate: "이번 채팅은 어떠셨나요?", star: "5점 중 {n}점", thanks: "평가해 주셔서 감사합니다.", closed: "채팅이 종료되었습니다.", new_chat: "새 채팅 시작", crisis_title: "지금 바로 도움을 받을 수 있습니다", call_988: "988로 전화 또는 문자", call_911: "911에 전화", you: "나", bot: "도우미", agent: "상담원", notice: "알림", failed: "보내지 못했습니다: {error}" },
    tl: { open: "Makipag-chat sa amin", language: "Wika", message: "Ang iyong mensahe", placeholder: "I-type ang iyong mensahe", send: "Ipadala", person: "Makipag-usap sa isang tao", end: "Tapusin ang chat", minimize: "I-minimize ang chat", typing: "Nagta-type ang isang ahente…", queue: "Ikaw ay pang-{position} sa pila. Tinatayang paghihintay: mga {minutes} minuto.", queue_unknown: "Ikaw ay pang-{position} sa pila.", with_person: "Kausap mo na ang isang tao.", offline: "Nawala ang koneksyon. Muling kumokonekta… Walang nawala sa iyong isinulat.", sending: "Ipinapadala…", unsent: "Naghihintay maipadala", rate: "Kumusta ang chat na ito?", star: "{n} sa 5", thanks: "Salamat sa iyong marka.", closed: "Natapos na ang chat na ito.", new_chat: "Magsimula ng bagong chat", crisis_title: "May tulong na makukuha ngayon din", call_988: "Tumawag o mag-text sa 988", call_911: "Tumawag sa 911", you: "Ikaw", bot: "Katulong", agent: "Ahente", notice: "Paunawa", failed: "Hindi naipadala: {error}" },
    ru: { open: "Чат с нами", language: "Язык", message: "Ваше сообщение", placeholder: "Введите сообщение", send: "Отправить", person: "Поговорить с сотрудником", end: "Завершить чат", minimize: "Свернуть чат", typing: "Сотрудник печатает…", queue: "Ваш номер в очереди: {position}. Примерное ожидание: около {minutes} мин.", queue_unknown: "Ваш номер в очереди: {position}.", with_person: "Вы общаетесь с сотрудником.", offline: "Соединение потеряно. Переподключение… Всё, что вы написали, сохранено.", sending: "Отправка…", unsent: "Ожидает отправки", rate: "Как прошёл этот чат?", star: "{n} из 5", thanks: "Спасибо за оценку.", closed: "Чат завершён.", new_chat: "Начать новый чат", crisis_title: "Помощь доступна прямо сейчас", call_988: "Позвоните или напишите на 988", call_911: "Позвоните 911", you: "Вы", bot: "Помощник", agent: "Сотрудник", notice: "Уведомление", failed: "Не отправлено: {error}" },
    ar: { open: "تحدث معنا", language: "اللغة", message: "رسالتك", placeholder: "اكتب رسالتك", send: "إرسال", person: "التحدث مع شخص", end: "إنهاء المحادثة", minimize: "تصغير نافذة المحادثة", typing: "أحد الموظفين يكتب…", queue: "ترتيبك في قائمة الانتظار: {position}. مدة الانتظار المتوقعة: حوالي {minutes} دقيقة.", queue_unknown: "ترتيبك في قائمة الانتظار: {position}.", with_person: "أنت الآن تتحدث مع شخص.", offline: "انقطع الاتصال. جارٍ إعادة الاتصال… لن يضيع شيء مما كتبته.", sending: "جارٍ الإرسال…", unsent: "في انتظار الإرسال", rate: "كيف كانت هذه المحادثة؟", star: "{n} من 5", thanks: "شكرًا لتقييمك.", closed: "انتهت هذه المحادثة.", new_chat: "بدء محادثة جديدة", crisis_title: "المساعدة متاحة الآن", call_988: "اتصل أو أرسل رسالة نصية إلى 988", call_911: "اتصل بالرقم 911", you: "أنت", bot: "المساعد", agent: "الموظف", notice: "تنبيه", failed: "لم يُرسَل: {error}" },
    fr: { open: "Discutez avec nous", language: "Langue", message: "Votre message", placeholder: "Écrivez votre message", send: "Envoyer", person: "Parler à une personne", end: "Terminer la discussion", minimize: "Réduire la discussion", typing: "Un conseiller écrit…", queue: "Vous êtes le numéro {position} dans la file. Attente estimée : environ {minutes} min.", queue_unknown: "Vous êtes le numéro {position} dans la file.", with_person: "Vous discutez avec une personne.", offline: "Connexion perdue. Reconnexion… Rien de ce que vous avez écrit n’est perdu.", sending: "Envoi…", unsent: "En attente d’envoi", rate: "Comment s’est passée cette discussion ?", star: "{n} sur 5", thanks: "Merci pour votre note.", closed: "Cette discussion est terminée.", new_chat: "Commencer une nouvelle discussion", crisis_title: "De l’aide est disponible immédiatement", call_988: "Appelez ou envoyez un SMS au 988", call_911: "Appelez le 911", you: "Vous", bot: "Assistant", agent: "Conseiller", notice: "Information", failed: "Non envoyé : {error}" },
    ht: { open: "Pale ak nou", language: "Lang", message: "Mesaj ou", placeholder: "Ekri mesaj ou", send: "Voye", person: "Pale ak yon moun", end: "Fini chat la", minimize: "Redwi fenèt chat la", typing: "Yon ajan ap ekri…", queue: "Ou se nimewo {position} nan liy lan. Tan pou tann: anviwon {minutes} minit.", queue_unknown: "Ou se nimewo {position} nan liy lan.", with_person: "W ap pale ak yon moun kounye a.", offline: "Koneksyon an koupe. N ap rekonekte… Anyen ou te ekri pa pèdi.", sending: "N ap voye…", unsent: "Ap tann pou voye", rate: "Kijan chat sa a te ye?", star: "{n} sou 5", thanks: "Mèsi pou nòt ou bay la.", closed: "Chat sa a fini.", new_chat: "Kòmanse yon nouvo chat", crisis_title: "Gen èd disponib kounye a menm", call_988: "Rele oswa voye tèks bay 988", call_911: "Rele 911", you: "Ou", bot: "Asistan", agent: "Ajan", notice: "Avi", failed: "Li pa t ale: {error}" },
    pt: { open: "Converse conosco", language: "Idioma", message: "Sua mensagem", placeholder: "Digite sua mensagem", send: "Enviar", person: "Falar com uma pessoa", end: "Encerrar a conversa", minimize: "Minimizar a conversa", typing: "Um atendente está digitando…", queue: "Você é o número {position} na fila. Espera estimada: cerca de {minutes} min.", queue_unknown: "Você é o número {position} na fila.", with_person: "Você está conversando com uma pessoa.", offline: "Conexão perdida. Reconectando… Nada do que você escreveu foi perdido.", sending: "Enviando…", unsent: "Aguardando envio", rate: "Como foi esta conversa?", star: "{n} de 5", thanks: "Obrigado pela sua avaliação.", closed: "Esta conversa terminou.", new_chat: "Iniciar uma nova conversa", crisis_title: "Há ajuda disponível agora mesmo", call_988: "Ligue ou envie uma mensagem de texto para 988", call_911: "Ligue para 911", you: "Você", bot: "Assistente", agent: "Atendente", notice: "Aviso", failed: "Não enviado: {error}" },
  };

  const supported = (code) => LANGUAGES.some(([c]) => c === code);
  const primary = (tag) => (tag || "").toLowerCase().split(/[-_]/)[0];
  const pageLang = supported(primary(script.dataset.lang)) ? primary(script.dataset.lang)
    : supported(primary(document.documentElement.lang)) ? primary(document.documentElement.lang) : "en";

  // ---- the chat's durable client state -----------------------------------------------------------

  /** { chatId, token, pending: [{ id, text, after }] }: `after` is the last seq seen when it was typed. */
  let saved = load();
  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE_KEY)) || { pending: [] }; } catch { return { pending: [] }; }
  }
  function persist() {
    try { sessionStorage.setItem(STORE_KEY, JSON.stringify(saved)); } catch { /* storage full or off: memory only */ }
  }

  const messages = new Map(); // seq -> message, so a message seen twice is shown once
  let state = null;
  let lang = pageLang;
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

  root.append(el("link", { rel: "stylesheet", href: server + "/assets/widget.css" }));
  const launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "cl-panel" });
  const panel = el("section", { id: "cl-panel", class: "panel", role: "dialog", "aria-labelledby": "cl-title", hidden: "" });
  const title = el("h2", { id: "cl-title" });
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
  const log = el("div", { class: "log", role: "log", "aria-live": "polite", tabindex: "0" }, [list]);
  const typing = el("p", { class: "typing", "aria-live": "polite" });
  const problem = el("p", { class: "problem", role: "alert", hidden: "" });
  const rating = el("fieldset", { class: "rating", hidden: "" });
  const ratingLegend = el("legend");
  const stars = [1, 2, 3, 4, 5].map((n) => el("button", { type: "button", class: "star", "data-score": String(n) }, [String(n)]));
  const thanks = el("p", { class: "thanks", hidden: "" });
  rating.append(ratingLegend, el("div", { class: "stars" }, stars));
  const form = el("form", { class: "compose" });
  const inputLabel = el("label", { for: "cl-input", class: "sr-only" });
  const input = el("textarea", { id: "cl-input", rows: "2", maxlength: "4000", autocomplete: "off" });
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
    list.setAttribute("aria-label", t("open"));
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
    renderLog();
  }

  function renderStatus() {
    if (!online) { status.textContent = t("offline"); status.classList.add("warn"); return; }
    status.classList.remove("warn");
    if (!state) { status.textContent = ""; return; }
    const h = state.handoff;
    if (state.status === "queued" && h && h.position) {
      status.textContent = h.estimated_wait_seconds != null
        ? t("queue", { position: h.position, minutes: Math.max(1, Math.round(h.estimated_wait_seconds / 60)) })
        : t("queue_unknown", { position: h.position });
    } else if (state.status === "agent") {
      status.textContent = t("with_person");
    } else if (state.status === "closed") {
      status.textContent = t("closed");
    } else {
      status.textContent = "";
    }
  }

  function renderLog() {
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    list.replaceChildren();
    for (const m of [...messages.values()].sort((a, b) => a.seq - b.seq)) {
      const who = m.sender === "patient" ? t("you") : m.sender === "agent" ? (m.author || t("agent"))
        : m.sender === "bot" ? t("bot") : t("notice");
      const li = el("li", { class: `msg ${m.sender} ${m.kind}`, "data-seq": String(m.seq), dir: "auto" }, [
        el("span", { class: "who", text: who + ": " }),
        el("span", { class: "text", text: m.text }),
      ]);
      list.append(li);
    }
    for (const p of saved.pending) {
      list.append(el("li", { class: "msg patient pending", "data-pending": p.id, dir: "auto" }, [
        el("span", { class: "who", text: t("you") + ": " }),
        el("span", { class: "text", text: p.text }),
        el("span", { class: "note", text: online ? t("sending") : t("unsent") }),
      ]));
    }
    if (atBottom || saved.pending.length) log.scrollTop = log.scrollHeight;
  }

  function merge(list) {
    for (const m of list || []) {
      messages.set(m.seq, m);
      if (m.kind === "crisis") showCrisis(m.text);
    }
    renderLog();
  }

  function showCrisis(text) {
    crisisText.textContent = text;
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
    form.hidden = closed;
    person.hidden = closed || s.status !== "bot";
    end.hidden = closed;
    newChat.hidden = !closed;
    const askRating = !s.rated && (closed || s.awaiting_rating);
    rating.hidden = !askRating;
    thanks.hidden = !s.rated;
    renderStatus();
  }

  // ---- talking to the server ---------------------------------------------------------------------

  class HttpError extends Error {
    constructor(status, message, retryAfter) { super(message); this.status = status; this.retryAfter = retryAfter; }
  }

  async function api(method, path, body, headers = {}) {
    const h = { ...headers };
    if (saved.token) h.authorization = "Bearer " + saved.token;
    if (body !== undefined) h["content-type"] = "application/json";
    const r = await fetch(server + "/api/v1" + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new HttpError(r.status, data.error || r.statusText, Number(r.headers.get("retry-after")) || 0);
    return data;
  }

  /** Starts the chat once, however many callers ask at the same moment. */
  let starting = null;
  function start() {
    starting ||= (async () => {
      const data = await api("POST", "/chats", {}, { "accept-language": lang });
      saved.chatId = data.chat_id;
      saved.token = data.token;
      persist();
      merge(data.replies);
      applyState(data.state);
      connect();
    })().finally(() => { starting = null; });
    return starting;
  }

  function backoff() {
    const d = reconnectDelay;
    reconnectDelay = Math.min(reconnectDelay * 2, 10000);
    return d;
  }

  /** The transcript from the server: fills anything a dropped socket missed, by seq, never twice. */
  async function sync() {
    const data = await api("GET", `/chats/${saved.chatId}`);
    merge(data.messages);
    applyState(data.state);
    return data.messages;
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
      try { await sync(); } catch { /* the next socket event or retry catches up */ }
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
      socket = null;
      if (state && state.status === "closed") return;
      setOnline(false);
      setTimeout(connect, backoff());
    };
  }

  function setOnline(value) {
    if (online === value) return;
    online = value;
    renderStatus();
    renderLog();
  }

  function showTyping(on) {
    clearTimeout(typingTimer);
    typing.textContent = on ? t("typing") : "";
    if (on) typingTimer = setTimeout(() => { typing.textContent = ""; }, 5000);
  }

  /**
   * Sends the waiting messages in order, one at a time. A message whose answer was lost (the network
   * dropped after the server stored it) is found in the transcript and not sent again; one the server
   * never got is sent when the connection is back. Nothing is dropped and nothing is doubled.
   */
  async function flush() {
    if (flushing || !saved.pending.length) return;
    flushing = true;
    try {
      while (saved.pending.length) {
        const p = saved.pending[0];
        if (p.tried) {
          const list = await sync();
          const stored = list.find((m) => m.sender === "patient" && m.seq > p.after && m.text === p.text);
          if (stored) { delivered(); continue; }
        }
        p.tried = true;
        persist();
        const data = await api("POST", `/chats/${saved.chatId}/messages`, { text: p.text });
        merge(data.replies);
        applyState(data.state);
        await sync().catch(() => {});
        delivered();
      }
    } catch (e) {
      const p = saved.pending[0];
      if (e instanceof HttpError && e.status === 429) {
        setTimeout(flush, (e.retryAfter || 5) * 1000);
      } else if (e instanceof HttpError && e.status < 500) {
        // Refused for a reason the patient can act on (too long, chat closed): the words go back into
        // the box, with the reason, rather than vanish.
        saved.pending.shift();
        persist();
        if (!input.value) input.value = p.text;
        problem.textContent = t("failed", { error: e.message });
        problem.hidden = false;
        if (e.status === 409) sync().catch(() => {});
      } else {
        setOnline(false);
        setTimeout(() => { if (navigator.onLine) setOnline(true); flush(); }, backoff());
      }
      renderLog();
    } finally {
      flushing = false;
    }
  }

  /**
   * The first waiting message is stored. The ones behind it were not sent yet, so whatever the
   * transcript holds now is older than them: a repeat of the same words is still theirs to send.
   */
  function delivered() {
    saved.pending.shift();
    const seen = Math.max(0, ...messages.keys());
    for (const p of saved.pending) p.after = Math.max(p.after, seen);
    persist();
    renderLog();
  }

  function submit(text) {
    text = text.trim();
    if (!text) return;
    const after = Math.max(0, ...messages.keys());
    saved.pending.push({ id: String(Date.now()) + Math.random().toString(16).slice(2), text, after });
    persist();
    renderLog();
    deliver();
  }

  async function deliver() {
    if (!saved.chatId) {
      try { await start(); } catch { setOnline(false); setTimeout(deliver, backoff()); return; }
    }
    flush();
  }

  async function action(path, body) {
    try {
      const data = await api("POST", `/chats/${saved.chatId}/${path}`, body);
      merge(data.replies);
      applyState(data.state);
    } catch (e) {
      problem.textContent = t("failed", { error: e.message });
      problem.hidden = false;
    }
  }

  // ---- events ------------------------------------------------------------------------------------

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.hidden = true;
    input.focus();
    if (!saved.chatId) start().catch(() => setOnline(false));
    else if (!state) sync().then(() => { connect(); flush(); }).catch(() => setOnline(false));
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", open);
  minimize.addEventListener("click", close);
  panel.addEventListener("keydown", (e) => { if (e.key === "Escape") close(); });
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
    relabel();
    if (saved.chatId && state && state.status !== "closed") action("language", { lang });
  });
  person.addEventListener("click", () => action("agent"));
  end.addEventListener("click", () => action("close"));
  stars.forEach((s) => s.addEventListener("click", () => action("rating", { score: Number(s.dataset.score) })));
  newChat.addEventListener("click", () => {
    saved = { pending: [] };
    persist();
    messages.clear();
    state = null;
    crisis.hidden = true;
    rating.hidden = true;
    thanks.hidden = true;
    applyState({ status: "bot", language: lang });
    state = null;
    start().catch(() => setOnline(false));
  });
  window.addEventListener("online", () => { setOnline(true); connect(); deliver(); });
  window.addEventListener("offline", () => setOnline(false));

  relabel();
  if (saved.chatId || script.dataset.open === "true") open();
})();
