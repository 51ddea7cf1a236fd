/**
 * A page's parts as a reader meets them, read with the runtime's HTMLRewriter (no DOM in
 * workerd): its language, title, headings, paragraphs, label/value pairs, links, forms, and what
 * it loads or runs. Text is decoded from HTML, so tests compare what a person reads.
 */
export type ReadPage = {
  lang: string | null;
  title: string;
  robots: string | null;
  viewport: string | null;
  headings: string[];
  paragraphs: string[];
  /** The first definition list's label/value pairs: the invitation's facts. */
  details: Record<string, string>;
  /** Every definition list's pairs, in order. */
  lists: Record<string, string>[];
  links: { href: string; text: string; rel: string | null }[];
  stylesheets: string[];
  /** Elements that would run or load something the CSP would have to allow. */
  scripts: number;
  inlineStyles: number;
  forms: number;
  /** Each form: where and how it posts, its fields' values, and its buttons' text. */
  formParts: PageForm[];
};

export type PageForm = {
  method: string | null;
  action: string | null;
  fields: Record<string, string>;
  buttons: string[];
};

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'" };

/** Text as a browser shows it: entities decoded, white space folded. */
export function decodeText(text: string): string {
  return text
    .replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, name: string) => ENTITIES[name] ?? "")
    .replace(/\s+/g, " ")
    .trim();
}

/** Reads `html` into its parts. */
export async function readPage(html: string): Promise<ReadPage> {
  const page: ReadPage = {
    lang: null,
    title: "",
    robots: null,
    viewport: null,
    headings: [],
    paragraphs: [],
    details: {},
    lists: [],
    links: [],
    stylesheets: [],
    scripts: 0,
    inlineStyles: 0,
    forms: 0,
    formParts: [],
  };
  let title = "";
  let label = "";
  /** Text collected for the element being read, handed to `done` when it ends. */
  const collect = (done: (text: string) => void) => {
    let text = "";
    return {
      element(element: Element) {
        text = "";
        element.onEndTag(() => done(decodeText(text)));
      },
      text(chunk: Text) {
        text += chunk.text;
      },
    };
  };
  const attribute = (name: string, done: (value: string | null) => void) => ({
    element(element: Element) {
      done(element.getAttribute(name));
    },
  });
  const count = (key: "scripts" | "inlineStyles" | "forms") => ({
    element() {
      page[key]++;
    },
  });
  await new HTMLRewriter()
    .on(
      "html",
      attribute("lang", (value) => {
        page.lang = value;
      }),
    )
    .on(
      "title",
      collect((text) => {
        title = text;
      }),
    )
    .on(
      'meta[name="robots"]',
      attribute("content", (value) => {
        page.robots = value;
      }),
    )
    .on(
      'meta[name="viewport"]',
      attribute("content", (value) => {
        page.viewport = value;
      }),
    )
    .on(
      "h1, h2",
      collect((text) => page.headings.push(text)),
    )
    .on(
      "p",
      collect((text) => page.paragraphs.push(text)),
    )
    .on("dl", {
      element() {
        page.lists.push({});
      },
    })
    .on(
      "dt",
      collect((text) => {
        label = text;
      }),
    )
    .on(
      "dd",
      collect((text) => {
        const list = page.lists.at(-1);
        if (list) list[label] = text;
      }),
    )
    .on("form", {
      element(element) {
        const action = element.getAttribute("action");
        page.formParts.push({
          method: element.getAttribute("method"),
          action: action === null ? null : decodeText(action),
          fields: {},
          buttons: [],
        });
      },
    })
    .on("form input", {
      element(element) {
        const form = page.formParts.at(-1);
        if (form)
          form.fields[element.getAttribute("name") ?? ""] = decodeText(element.getAttribute("value") ?? "");
      },
    })
    .on(
      "form button",
      collect((text) => page.formParts.at(-1)?.buttons.push(text)),
    )
    .on("a", {
      element(element) {
        const link = {
          href: decodeText(element.getAttribute("href") ?? ""),
          text: "",
          rel: element.getAttribute("rel"),
        };
        page.links.push(link);
        element.onEndTag(() => {
          link.text = decodeText(link.text);
        });
      },
      text(chunk) {
        const link = page.links.at(-1);
        if (link) link.text += chunk.text;
      },
    })
    .on(
      'link[rel="stylesheet"]',
      attribute("href", (value) => page.stylesheets.push(value ?? "")),
    )
    .on("script", count("scripts"))
    .on("style, [style]", count("inlineStyles"))
    .on("form", count("forms"))
    .transform(new Response(html))
    .text();
  page.title = decodeText(title);
  page.details = page.lists[0] ?? {};
  return page;
}
