"""Checks the built documentation site (``make docs-check``, after ``make docs``).

Two parts:

1. **Static, always** (pure Python over ``docs/_build/html``): every internal link and anchor
   resolves; every ``<img>`` points at an existing, non-empty image file; no page loads a
   script, stylesheet, font or image from the network (nor does a stylesheet it links); every
   page with math loads the site's own MathJax, which exists.
2. **In a real browser** (headless Chromium, driven over the DevTools protocol on a pipe, no
   extra package): opens the index, one loss page, the contract page and one study page, waits
   for MathJax to finish, saves a screenshot of each to ``docs/_build/screenshots/`` (the
   1280x1600 window, and ``<page>-full.png``, the whole page), and
   fails on an image the browser could not decode (``naturalWidth == 0``), math left
   unrendered (a page whose HTML has math but no ``mjx-container``, or raw ``\\(``, ``\\[``,
   ``$$`` in its visible text), or a MathJax error.

Without Chromium, part 2 fails loudly unless ``--no-browser`` is given (CI machines may lack
it; the Makefile passes the flag only when ``command -v chromium`` fails, and says so).

Usage: ``python docs/check_site.py [--html DIR] [--no-browser] [--chromium PATH]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

DOCS = Path(__file__).resolve().parent
NETWORK = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""", re.I)
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"GIF8", b"\xff\xd8\xff", b"RIFF", b"<svg", b"<?xml")
PAGES = {  # the pages opened in the browser: name -> how to find it under the site
    "index": ["index.html"],
    "loss-huber": ["losses/huber.html"],
    "contract": ["contract.html"],
    "study": ["studies/*.html"],
}


class Page(HTMLParser):
    """The links, resources, anchors and math of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []  # navigations: <a href>
        self.resources: list[tuple[str, str]] = []  # (what, url) the page loads
        self.images: list[str] = []
        self.scripts: list[str] = []
        self.math = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        classes = a.get("class", "").split()
        if "math" in classes:
            self.math = True
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "img":
            self.images.append(a.get("src", ""))
            self.resources.append(("image", a.get("src", "")))
        elif tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
            self.resources.append(("script", a["src"]))
        elif tag == "link" and a.get("href"):
            rel = a.get("rel", "").lower()
            if any(r in rel for r in ("stylesheet", "preload", "icon", "modulepreload")):
                self.resources.append((f"link rel={rel}", a["href"]))
        elif tag in ("source", "video", "audio", "iframe", "embed") and a.get("src"):
            self.resources.append((tag, a["src"]))


def _target(page: Path, url: str, root: Path) -> tuple[Path, str]:
    parts = urlsplit(url)
    path = unquote(parts.path)
    file = page if not path else (root / path.lstrip("/") if path.startswith("/")
                                  else page.parent / path)
    file = Path(os.path.normpath(file))
    if file.is_dir():
        file = file / "index.html"
    return file, unquote(parts.fragment)


def static_check(root: Path) -> tuple[list[str], dict[str, Page]]:
    """Problems found in the built site at ``root`` (empty when it is sound), and its pages."""
    problems: list[str] = []
    pages: dict[Path, Page] = {}
    for html in sorted(root.rglob("*.html")):
        if html.relative_to(root).parts[0] in ("_static", "_sources", "_images"):
            continue  # the theme's template fragments, not pages
        p = Page()
        p.feed(html.read_text(encoding="utf-8", errors="replace"))
        pages[html] = p
    if not pages:
        return [f"no HTML under {root}: run `make docs` first"], {}
    css_checked: set[Path] = set()
    for html, p in pages.items():
        rel = html.relative_to(root).as_posix()
        for what, url in p.resources:
            if not url:
                problems.append(f"{rel}: {what} with no URL")
                continue
            if url.startswith("data:"):
                continue  # inline, nothing fetched
            if NETWORK.match(url) or ":" in url.split("/")[0]:
                problems.append(f"{rel}: {what} from the network: {url}")
                continue
            file, _ = _target(html, url, root)
            if not file.is_file():
                problems.append(f"{rel}: {what} {url} does not exist")
                continue
            if what == "image":
                head = file.read_bytes()[:64]
                if not head:
                    problems.append(f"{rel}: image {url} is empty")
                elif not head.lstrip().startswith(IMAGE_MAGIC):
                    problems.append(f"{rel}: image {url} is not a PNG/GIF/JPEG/WebP/SVG file")
            if file.suffix == ".css" and file not in css_checked:
                css_checked.add(file)
                problems += _css_problems(file, root)
        for url in p.links:
            if not url or url.startswith(("mailto:", "javascript:")) or NETWORK.match(url):
                continue
            if ":" in url.split("/")[0]:
                continue  # another scheme (a navigation away, not a resource)
            file, frag = _target(html, url, root)
            if not file.exists():
                problems.append(f"{rel}: link {url} points at a missing file")
                continue
            if frag and file.suffix == ".html":
                target = pages.get(file)
                if target is None or frag not in target.ids:
                    problems.append(f"{rel}: link {url}: no anchor #{frag} there")
        if p.math:
            local = [s for s in p.scripts if "mathjax" in s.lower() and not NETWORK.match(s)]
            if not local:
                problems.append(f"{rel}: has math but does not load the site's MathJax")
            for s in local:
                if not _target(html, s, root)[0].is_file():
                    problems.append(f"{rel}: MathJax script {s} is missing")
    return problems, {h.relative_to(root).as_posix(): p for h, p in pages.items()}


def _css_problems(css: Path, root: Path) -> list[str]:
    out = []
    text = css.read_text(encoding="utf-8", errors="replace")
    for url in CSS_URL.findall(text):
        if NETWORK.match(url):
            out.append(f"{css.relative_to(root).as_posix()}: loads {url} from the network")
    return out


# --------------------------------------------------------------------------------------------
# The browser: Chromium's DevTools protocol over --remote-debugging-pipe (fd 3 in, fd 4 out)


def _above(fd: int, low: int) -> int:
    """``fd``, duplicated to a number above ``low`` when it is not (the original closed)."""
    if fd > low:
        return fd
    new = os.dup(fd)
    out = _above(new, low)
    os.close(fd)
    return out


class Browser:
    def __init__(self, chromium: str, width: int = 1280, height: int = 1600) -> None:
        self.width, self.height = width, height
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        # In the child, fd 3 must read our commands and fd 4 write its replies: move both ends
        # above 4 first (so that neither is clobbered), then duplicate them onto 3 and 4 in
        # the child (pass_fds keeps 3 and 4 open there).
        to_chrome_r = _above(to_chrome_r, 4)
        from_chrome_w = _above(from_chrome_w, 4)

        def fds():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking",
             f"--window-size={width},{height}", "about:blank"],
            close_fds=False, preexec_fn=fds,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        self._targets: dict[str, str] = {}  # session -> target

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, session: str, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i, e in enumerate(self.events):
                if e.get("method") == method and e.get("sessionId") == session:
                    del self.events[i]
                    return
            self.events.append(self._read())
        raise TimeoutError(method)

    def open(self, url: str) -> str:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.send("Page.enable", session)
        self.send("Emulation.setDeviceMetricsOverride", session, width=self.width,
                  height=self.height, deviceScaleFactor=1, mobile=False)
        self.send("Page.navigate", session, url=url)
        self.wait_event("Page.loadEventFired", session)
        self._targets[session] = target
        return session

    def close_page(self, session: str) -> None:
        self.send("Target.closeTarget", targetId=self._targets.pop(session))

    def evaluate(self, session: str, expression: str):
        result = self.send("Runtime.evaluate", session, expression=expression,
                           awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, session: str, path: Path, full: bool = False) -> None:
        """The window as the reader first sees it, or (``full``) the whole page."""
        if full:
            height = self.evaluate(session, "document.documentElement.scrollHeight")
            self.send("Emulation.setDeviceMetricsOverride", session, width=self.width,
                      height=min(int(height), 16000), deviceScaleFactor=1, mobile=False)
        data = self.send("Page.captureScreenshot", session, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        if full:
            self.send("Emulation.setDeviceMetricsOverride", session, width=self.width,
                      height=self.height, deviceScaleFactor=1, mobile=False)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# Run in the page once it has loaded: waits for MathJax, then reports what the reader sees.
PROBE = r"""
(async () => {
  let mathjax = "absent";
  if (window.MathJax) {
    for (let i = 0; i < 100 && !(MathJax.startup && MathJax.startup.promise); i++)
      await new Promise(r => setTimeout(r, 100));
    try { await MathJax.startup.promise; mathjax = "done"; }
    catch (e) { mathjax = "error: " + e; }
    if (MathJax.typesetPromise) await MathJax.typesetPromise();
  }
  await new Promise(r => setTimeout(r, 200));
  const imgs = [...document.images].map(i => ({src: i.getAttribute("src"),
      ok: i.complete && i.naturalWidth > 0}));
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll("script, style, pre, code, mjx-container, .highlight")
       .forEach(e => e.remove());
  const text = clone.innerText || clone.textContent;
  const raw = ["\\(", "\\[", "$$"].filter(d => text.includes(d));
  return {mathjax, imgs, raw,
          containers: document.querySelectorAll("mjx-container").length,
          merrors: document.querySelectorAll("mjx-merror, [data-mjx-error]").length,
          title: document.title};
})()
"""


def _find(root: Path, patterns: list[str]) -> Path | None:
    for pat in patterns:
        found = sorted(p for p in root.glob(pat) if p.name != "index.html") or sorted(
            root.glob(pat))
        if found:
            return found[0]
    return None


def _probe(browser: Browser, root: Path, page: Path,
           pages: dict[str, Page]) -> tuple[list[str], str, dict]:
    """Opens one page: the problems a reader would see (broken images, math not rendered),
    its session (still open) and what the page reported."""
    rel = page.relative_to(root).as_posix()
    session = browser.open(page.resolve().as_uri())
    seen = browser.evaluate(session, PROBE)
    problems = [f"{rel}: the browser could not show image {img['src']}"
                for img in seen["imgs"] if not img["ok"]]
    if rel in pages and pages[rel].math and seen["containers"] == 0:
        problems.append(f"{rel}: has math but MathJax rendered none (MathJax {seen['mathjax']})")
    if seen["raw"]:
        problems.append(f"{rel}: unrendered math delimiters {seen['raw']} in the text")
    if seen["merrors"]:
        problems.append(f"{rel}: {seen['merrors']} MathJax errors")
    if seen["mathjax"].startswith("error"):
        problems.append(f"{rel}: MathJax failed: {seen['mathjax']}")
    return problems, session, seen


def browser_check(root: Path, chromium: str, out: Path,
                  pages: dict[str, Page]) -> list[str]:
    """Every page with math or images, opened in Chromium; screenshots of :data:`PAGES`."""
    problems: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    browser = Browser(chromium)
    try:
        shots = {}
        for label, patterns in PAGES.items():
            page = _find(root, patterns)
            if page is None:
                problems.append(f"browser: no page for {label} ({patterns})")
            else:
                shots[page] = label
        visual = [root / rel for rel, pg in sorted(pages.items()) if pg.math or pg.images]
        for page in sorted(set(visual) | set(shots)):
            found, session, seen = _probe(browser, root, page, pages)
            problems += found
            if page in shots:
                shot = out / f"{shots[page]}.png"
                browser.screenshot(session, shot)
                browser.screenshot(session, out / f"{shots[page]}-full.png", full=True)
                print(f"  {page.relative_to(root).as_posix()}: {seen['title']!r}; MathJax "
                      f"{seen['mathjax']}, {seen['containers']} formulas, "
                      f"{len(seen['imgs'])} images -> {shot}")
            browser.close_page(session)
        print(f"  {len(set(visual) | set(shots))} pages opened (every page with math or "
              "images)")
    finally:
        browser.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, default=DOCS / "_build" / "html")
    ap.add_argument("--screenshots", type=Path, default=DOCS / "_build" / "screenshots")
    ap.add_argument("--chromium", default=None, help="the browser (default: chromium on PATH)")
    ap.add_argument("--no-browser", action="store_true",
                    help="only the static checks (for a machine without Chromium)")
    args = ap.parse_args(argv)
    root = args.html.resolve()
    problems, pages = static_check(root)
    print(f"static check of {root}: {len(pages)} pages, {len(problems)} problems")
    if not args.no_browser:
        chromium = args.chromium or shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            print("\n" + "!" * 78 + "\n!! Chromium is not installed: the site was NOT checked "
                  "in a browser.\n!! Install Debian's `chromium` package, or pass "
                  "--no-browser to run only the static checks.\n" + "!" * 78, file=sys.stderr)
            return 2
        print(f"browser check with {chromium}:")
        problems += browser_check(root, chromium, args.screenshots, pages)
    else:
        print("browser check skipped (--no-browser)")
    for p in problems:
        print("  PROBLEM", p, file=sys.stderr)
    print("docs check " + ("FAILED" if problems else "passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
