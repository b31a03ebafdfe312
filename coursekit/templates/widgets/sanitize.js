// A small stand-in for the sanitize-html package (which brings a CSS parser and an HTML parser,
// ~200 kB minified) for the one use ManagerBase makes of it: inline_sanitize, for descriptions
// with description_allow_html. The browser parses the HTML; tags outside allowedTags are removed
// (their text kept, except script, style, textarea and option), attributes outside
// allowedAttributes dropped ("aria-*" style globs allowed), and script URLs removed.
const DROP_WITH_TEXT = new Set(["SCRIPT", "STYLE", "TEXTAREA", "OPTION", "NOSCRIPT"]);
const URL_ATTRIBUTES = new Set(["href", "src"]);

/** Whether an attribute name matches a name or a "prefix-*" glob of the list. */
function allowedName(name, list) {
  return list.some((a) => a === name || (a.endsWith("*") && name.startsWith(a.slice(0, -1))));
}

/** Whether a URL is safe to keep (no javascript:, vbscript: or data: other than images). */
function safeUrl(value) {
  const url = value.replace(/[\s\u0000-\u001f]/g, "").toLowerCase();
  if (url.startsWith("data:")) return url.startsWith("data:image/");
  return !/^(javascript|vbscript):/.test(url);
}

/** Keep only the allowed attributes of one element. */
function cleanAttributes(el, allowedAttributes) {
  const tag = el.tagName.toLowerCase();
  const allowed = [...(allowedAttributes["*"] || []), ...(allowedAttributes[tag] || [])];
  for (const { name, value } of Array.from(el.attributes)) {
    const keep = allowedName(name, allowed) && (!URL_ATTRIBUTES.has(name) || safeUrl(value));
    if (!keep) el.removeAttribute(name);
  }
}

/** Clean the children of node in place. */
function cleanChildren(node, allowedTags, allowedAttributes) {
  for (const child of Array.from(node.childNodes)) {
    if (child.nodeType === Node.ELEMENT_NODE) {
      cleanChildren(child, allowedTags, allowedAttributes);
      if (DROP_WITH_TEXT.has(child.tagName)) {
        child.remove();
      } else if (!allowedTags.includes(child.tagName.toLowerCase())) {
        child.replaceWith(...Array.from(child.childNodes));
      } else {
        cleanAttributes(child, allowedAttributes);
      }
    } else if (child.nodeType !== Node.TEXT_NODE) {
      child.remove();
    }
  }
}

/** The HTML s with only the allowed tags and attributes. */
export default function sanitize(s, { allowedTags = [], allowedAttributes = {} } = {}) {
  const doc = new DOMParser().parseFromString(`<body>${s}</body>`, "text/html");
  cleanChildren(doc.body, allowedTags, allowedAttributes);
  return doc.body.innerHTML;
}
