// The course's widget manager: renders the widget-state and widget-view script tags of a page the
// way @jupyter-widgets/html-manager's embed.js does, with only the @jupyter-widgets/base and
// @jupyter-widgets/controls classes (ipywidgets 8). No kernel, no Output widget, no rendermime,
// no RequireJS loader for third-party widgets. Bundled by build.js (esbuild) into the site.
import * as base from "@jupyter-widgets/base";
import * as controls from "@jupyter-widgets/controls";
import { ManagerBase } from "@jupyter-widgets/base-manager";
import { MessageLoop } from "@lumino/messaging";
import { Widget } from "@lumino/widgets";
import baseCss from "course-css:widgets-base";
import labCss from "course-css:labvariables";

const STATE = 'script[type="application/vnd.jupyter.widget-state+json"]';
const VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]';
const MODULES = { "@jupyter-widgets/base": base, "@jupyter-widgets/controls": controls };

/** Add a stylesheet to the page's head. */
function addStyle(css, id) {
  const style = document.createElement("style");
  style.id = id;
  style.textContent = css;
  document.head.appendChild(style);
}

/** The controls' styles, and JupyterLab's variables unless the page defines them already. */
function addStyles() {
  const root = getComputedStyle(document.documentElement);
  if (root.getPropertyValue("--jp-layout-color0") === "") addStyle(labCss, "course-widgets-lab");
  addStyle(baseCss, "course-widgets-base");
}

/** A manager for stored widget state: base and controls classes only, no comms. */
class CourseManager extends ManagerBase {
  constructor() {
    super();
    this.views = new Set();
    window.addEventListener("resize", () => this.views.forEach((view) =>
      MessageLoop.postMessage(view.luminoWidget, Widget.ResizeMessage.UnknownSize)));
  }

  /** The class className of a base or controls module major version 2 (ipywidgets 8). */
  async loadClass(className, moduleName, moduleVersion) {
    const module = MODULES[moduleName];
    if (!module || String(moduleVersion).split(".")[0] !== "2") {
      throw new Error(`Could not load module ${moduleName}@${moduleVersion}`);
    }
    if (!module[className]) {
      throw new Error(`Class ${className} not found in module ${moduleName}@${moduleVersion}`);
    }
    return module[className];
  }

  /** Attach a view to el with lumino; a view that fails becomes an error widget. */
  async display_view(view, el) {
    let v;
    try {
      v = await view;
    } catch (error) {
      const msg = `Could not create a view for ${view}`;
      console.error(msg, error);
      const ErrorModel = base.createErrorWidgetModel(error, msg);
      v = new base.ErrorWidgetView({ model: new ErrorModel() });
      v.render();
    }
    Widget.attach(v.luminoWidget, el);
    this.views.add(v);
    v.once("remove", () => this.views.delete(v));
  }

  /** No kernel: no live comms. */
  _get_comm_info() {
    return Promise.resolve({});
  }

  /** No kernel: a comm that does nothing. */
  _create_comm() {
    return Promise.resolve({ on_close() {}, on_msg() {}, close() {} });
  }
}

/** Check the stored state has the shape ManagerBase.set_state reads. */
function checkState(state) {
  if (!state || typeof state.state !== "object" || !(state.version_major <= 2)) {
    throw new Error("Model state has errors: not a version 2 widget state");
  }
  return state;
}

/** Replace each view tag whose model the manager knows by the rendered view. */
async function renderView(manager, models, viewTag) {
  const { model_id: modelId } = JSON.parse(viewTag.innerHTML);
  const model = models.find((item) => item.model_id === modelId);
  if (model === undefined || viewTag.parentElement === null) return;
  const prev = viewTag.previousElementSibling;
  if (prev && prev.tagName === "img" && prev.classList.contains("jupyter-widget")) {
    viewTag.parentElement.removeChild(prev);
  }
  const widgetTag = document.createElement("div");
  widgetTag.className = "widget-subarea";
  viewTag.parentElement.insertBefore(widgetTag, viewTag);
  await manager.display_view(await manager.create_view(model), widgetTag);
}

/** Render one stored state: a manager for it, then every view tag of the element. */
async function renderManager(element, state) {
  const manager = new CourseManager();
  const models = await manager.set_state(checkState(state));
  const views = Array.from(element.querySelectorAll(VIEW));
  await Promise.all(views.map((viewTag) => renderView(manager, models, viewTag)));
}

/** Render the widgets of every widget-state tag of the document. */
function renderWidgets(element = document.documentElement) {
  addStyles();
  const tags = Array.from(element.querySelectorAll(STATE));
  return Promise.all(tags.map((tag) => renderManager(element, JSON.parse(tag.innerHTML))));
}

if (!window._jupyter_widget_embedder) {
  window._jupyter_widget_embedder = true;
  if (document.readyState === "complete") {
    renderWidgets();
  } else {
    window.addEventListener("load", () => renderWidgets());
  }
}
