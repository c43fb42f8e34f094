// Every string the widget shows, in one table per language. Visitors read these: plain words,
// never a code, an id or a developer's term (those go to the browser console, diagnose.js).
// A language picks its table by `data-lang` on the script tag, else the page's `<html lang>`,
// else the browser's; a string missing from it falls back to English. Right-to-left
// languages lay the panel out right to left.

const en = {
  title: 'Chat with us',
  openChat: 'Open chat',
  openChatUnread: 'Open chat ({n} unread)',
  closeChat: 'Close chat',
  yourMessage: 'Your message',
  placeholder: 'Type a message…',
  send: 'Send',
  messages: 'Messages',
  older: 'Load earlier messages',
  olderFailed: 'Earlier messages could not be loaded. Try again in a moment.',
  you: 'You',
  agent: 'Agent',
  sending: 'sending…',
  seen: 'seen',
  notSent: 'not sent',
  typing: '{name} is typing…',
  agentTyping: 'The agent is typing…',
  waiting: 'Waiting for an agent…',
  queuePlace: 'You are number {n} in the queue',
  queueWait: 'You are number {n} in the queue · about {time}',
  chattingWith: 'You are chatting with {name}',
  agentPhoto: 'Photo of {name}',
  joined: '{name} joined the conversation',
  agentJoined: 'An agent joined the conversation',
  closedEntry: 'The conversation was closed',
  reopenedEntry: 'The conversation is open again',
  returned: 'The conversation is waiting for an agent again',
  reconnecting: 'Reconnecting…',
  notSentStatus: 'Your message could not be sent.',
  tooLong: 'Your message is too long. Please shorten it.',
  ended: 'This conversation has ended.',
  endedReopen: 'This conversation has ended. Write again to reopen it.',
  expired: 'This chat can no longer continue.',
  unavailable: 'Chat is unavailable right now.',
  restart: 'Start a new chat',
  replyWithin: 'Usually replies within {time}',
  attachFile: 'Attach a file',
  uploading: 'Sending {name}… {percent}%',
  fileTooLarge: 'This file is too large to send.',
  fileTypeRefused: 'This kind of file cannot be sent. Send a picture or a PDF.',
  fileFailed: 'The file could not be sent. Please try again.',
  fileOpen: 'Open {name}',
  offlineIntro: 'Nobody is here to chat right now. Leave your email and your message, and the team will answer you by email.',
  offlineEmail: 'Your email',
  offlineEmailMissing: 'Please enter your email address.',
  offlineEmailInvalid: 'This email address does not look right. Please check it (for example, name@example.com).',
  offlineMessageMissing: 'Please write your message.',
  offlineSent: 'Thank you. The team will answer you by email at {email}.',
  fileRemoved: '{name} (file removed)',
  filePreview: 'Preview of {name}',
};

const fr = {
  title: 'Discutons',
  openChat: 'Ouvrir la discussion',
  openChatUnread: 'Ouvrir la discussion ({n} non lus)',
  closeChat: 'Fermer la discussion',
  yourMessage: 'Votre message',
  placeholder: 'Écrivez un message…',
  send: 'Envoyer',
  messages: 'Messages',
  older: 'Voir les messages précédents',
  olderFailed: 'Les messages précédents n’ont pas pu être chargés. Réessayez dans un instant.',
  you: 'Vous',
  agent: 'Conseiller',
  sending: 'envoi…',
  seen: 'lu',
  notSent: 'non envoyé',
  typing: '{name} écrit…',
  agentTyping: 'Le conseiller écrit…',
  waiting: 'En attente d’un conseiller…',
  queuePlace: 'Vous êtes n° {n} dans la file d’attente',
  queueWait: 'Vous êtes n° {n} dans la file d’attente · environ {time}',
  chattingWith: 'Vous discutez avec {name}',
  agentPhoto: 'Photo de {name}',
  joined: '{name} a rejoint la discussion',
  agentJoined: 'Un conseiller a rejoint la discussion',
  closedEntry: 'La discussion a été fermée',
  reopenedEntry: 'La discussion est de nouveau ouverte',
  returned: 'La discussion attend de nouveau un conseiller',
  reconnecting: 'Reconnexion…',
  notSentStatus: 'Votre message n’a pas pu être envoyé.',
  tooLong: 'Votre message est trop long. Raccourcissez-le.',
  ended: 'Cette discussion est terminée.',
  endedReopen: 'Cette discussion est terminée. Écrivez de nouveau pour la rouvrir.',
  expired: 'Cette discussion ne peut pas continuer.',
  unavailable: 'La discussion est indisponible pour le moment.',
  restart: 'Nouvelle discussion',
  replyWithin: 'Répond généralement en {time}',
  attachFile: 'Joindre un fichier',
  uploading: 'Envoi de {name}… {percent} %',
  fileTooLarge: 'Ce fichier est trop volumineux pour être envoyé.',
  fileTypeRefused: 'Ce type de fichier ne peut pas être envoyé. Envoyez une image ou un PDF.',
  fileFailed: 'Le fichier n’a pas pu être envoyé. Réessayez.',
  fileOpen: 'Ouvrir {name}',
  offlineIntro: 'Personne n’est disponible pour discuter en ce moment. Laissez votre e-mail et votre message : l’équipe vous répondra par e-mail.',
  offlineEmail: 'Votre e-mail',
  offlineEmailMissing: 'Indiquez votre adresse e-mail.',
  offlineEmailInvalid: 'Cette adresse e-mail ne semble pas correcte. Vérifiez-la (par exemple, nom@exemple.fr).',
  offlineMessageMissing: 'Écrivez votre message.',
  offlineSent: 'Merci. L’équipe vous répondra par e-mail à {email}.',
  fileRemoved: '{name} (fichier supprimé)',
  filePreview: 'Aperçu de {name}',
};

const ar = {
  title: 'تحدث معنا',
  openChat: 'فتح المحادثة',
  openChatUnread: 'فتح المحادثة ({n} غير مقروءة)',
  closeChat: 'إغلاق المحادثة',
  yourMessage: 'رسالتك',
  placeholder: 'اكتب رسالة…',
  send: 'إرسال',
  messages: 'الرسائل',
  older: 'عرض الرسائل السابقة',
  olderFailed: 'تعذّر تحميل الرسائل السابقة. حاول مرة أخرى بعد قليل.',
  you: 'أنت',
  agent: 'موظف الدعم',
  sending: 'جارٍ الإرسال…',
  seen: 'تمت القراءة',
  notSent: 'لم تُرسل',
  typing: '{name} يكتب…',
  agentTyping: 'موظف الدعم يكتب…',
  waiting: 'في انتظار موظف الدعم…',
  queuePlace: 'أنت رقم {n} في قائمة الانتظار',
  queueWait: 'أنت رقم {n} في قائمة الانتظار · حوالي {time}',
  chattingWith: 'أنت تتحدث مع {name}',
  agentPhoto: 'صورة {name}',
  joined: 'انضم {name} إلى المحادثة',
  agentJoined: 'انضم موظف الدعم إلى المحادثة',
  closedEntry: 'أُغلقت المحادثة',
  reopenedEntry: 'أُعيد فتح المحادثة',
  returned: 'المحادثة في انتظار موظف الدعم من جديد',
  reconnecting: 'جارٍ إعادة الاتصال…',
  notSentStatus: 'تعذّر إرسال رسالتك.',
  tooLong: 'رسالتك طويلة جدًا. يرجى اختصارها.',
  ended: 'انتهت هذه المحادثة.',
  endedReopen: 'انتهت هذه المحادثة. اكتب من جديد لإعادة فتحها.',
  expired: 'لا يمكن متابعة هذه المحادثة.',
  unavailable: 'المحادثة غير متاحة حاليًا.',
  restart: 'بدء محادثة جديدة',
  replyWithin: 'يرد عادةً خلال {time}',
  attachFile: 'إرفاق ملف',
  uploading: 'جارٍ إرسال {name}… {percent}٪',
  fileTooLarge: 'هذا الملف كبير جدًا ولا يمكن إرساله.',
  fileTypeRefused: 'لا يمكن إرسال هذا النوع من الملفات. أرسل صورة أو ملف PDF.',
  fileFailed: 'تعذّر إرسال الملف. يرجى المحاولة مرة أخرى.',
  fileOpen: 'فتح {name}',
  offlineIntro: 'لا يوجد أحد متاح للمحادثة الآن. اترك بريدك الإلكتروني ورسالتك، وسيرد عليك الفريق عبر البريد الإلكتروني.',
  offlineEmail: 'بريدك الإلكتروني',
  offlineEmailMissing: 'يرجى إدخال عنوان بريدك الإلكتروني.',
  // The example address is isolated (U+2068…U+2069), and no brackets around it: inside
  // Arabic they would pair the wrong way.
  offlineEmailInvalid: 'يبدو أن عنوان البريد الإلكتروني غير صحيح. يرجى التحقق منه، مثال: \u2068name@example.com\u2069',
  offlineMessageMissing: 'يرجى كتابة رسالتك.',
  offlineSent: 'شكرًا لك. سيرد عليك الفريق عبر البريد الإلكتروني على {email}.',
  fileRemoved: '{name} (تم حذف الملف)',
  filePreview: 'معاينة {name}',
};

/**
 * The tables shipped (docs/sdk.md says how to add one); tsc holds each to English's keys.
 * @type {Record<string, typeof en>}
 */
export const LANGUAGES = { en, fr, ar };
const RTL = new Set(['ar', 'fa', 'he', 'ur']);

/**
 * The table for `lang` (`fr-CA` → `fr`), English where it has no entry, with the page's own
 * overrides on top.
 * @param {string} lang
 * @param {Record<string, string>} [overrides]
 */
export function stringsFor(lang, overrides = {}) {
  const base = String(lang || 'en').toLowerCase().split('-')[0];
  const table = { ...en, ...(LANGUAGES[base] ?? {}), ...overrides };
  // A language with no table shows English, laid out as English; the page's own strings
  // for it (overrides) make it that language.
  const shown = LANGUAGES[base] || Object.keys(overrides).length ? base : 'en';
  return {
    lang: shown,
    dir: RTL.has(shown) ? 'rtl' : 'ltr',
    /** @param {keyof typeof en} key @param {Record<string, string | number>} [vars] */
    t: (key, vars = {}) => String(table[key] ?? en[key] ?? key).replace(/\{(\w+)\}/g, (_, v) => String(vars[v] ?? '')),
  };
}
