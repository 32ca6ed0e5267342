// The "(edited)" mark of a message whose text its sender changed after sending it
// (Message.edited_at): shown beside the message's time wherever a message is shown (the chat, a
// share link's page), with the time of the last edit as its tooltip and as its machine-readable
// datetime. Nothing for a message never edited.
import { el } from "../dom.js";

const editFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function editedMark(m) {
  if (!m?.edited_at) return null;
  const d = new Date(m.edited_at);
  const when = Number.isNaN(d.getTime()) ? "" : editFormat.format(d);
  return el("time", { class: "edited", datetime: m.edited_at, title: when ? `Edited ${when}` : "Edited" }, "(edited)");
}
