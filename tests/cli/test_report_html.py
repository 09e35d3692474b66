"""`churn report --html`: the self-contained HTML page (issue 25).

The page is opened in headless Chromium (Debian's `chromium`: a screenshot that is not
blank, at desktop and phone widths, and every section title in the rendered DOM), parsed
by html5lib in strict mode (valid HTML5), searched for anything that would load from
outside (URLs, scripts, links, images, fonts), and read back: its save-now list holds no
customer whose P(alive) in the CSV is below the threshold, its win-back list none at or
above it, and its totals equal the sums of the CSV's columns. On the CDNOW sample and on a
simulated log. Skips with a message when chromium or html5lib is absent.
"""
import csv
import os
import re
import shutil
import struct
import subprocess
import zlib

import pytest

CDNOW_ARGS = ["--no-header", "--id", "1", "--time", "3", "--amount", "5",
              "--cutoff", "1997-09-30", "--unit", "week", "--horizon", "12",
              "--period", "4.345", "--discount", "0.01", "--margin", "1"]

TITLES = ["Summary", "Save now", "Win back", "Value tiers: who holds the value",
          "P(alive) distribution", "Retention by acquisition cohort",
          "Retention by tier (Kaplan-Meier)"]

# a URL anywhere in the page's bytes (the SVG namespace is implied in HTML5, never written)
URL = re.compile(r"(?i)(https?:|ftp:|file:|data:|//[a-z0-9])")
# elements and attributes that load or link something; in the style sheet, url() and imports
LOADING_TAGS = {"script", "link", "img", "iframe", "object", "embed", "use", "image", "audio",
                "video", "source", "base", "a", "form", "meta_refresh"}
LOADING_ATTRS = {"src", "href", "srcset", "action", "data", "poster", "background"}
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def html5lib():
    return pytest.importorskip("html5lib", reason="python3-html5lib is not installed: the "
                               "HTML5 validation of the report page is skipped")


@pytest.fixture(scope="module")
def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/quickstart "
                    "installs it): the rendering checks of the report page are skipped")
    return exe


@pytest.fixture
def cdnow(shared_data):
    path = os.path.join(shared_data, "cdnow", "CDNOW_sample.txt")
    if not os.path.exists(path):
        pytest.skip(f"{path} is absent: the CDNOW checks of the report page need it")
    return path


def read_rows(path):
    with open(path, newline="") as f:
        return {r["customer_id"]: r for r in csv.DictReader(f)}


def parse_strict(html5lib, text):
    """The page's tree; html5lib raises ParseError on any HTML5 parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False,
                                 tree=html5lib.getTreeBuilder("etree"))
    return parser.parse(text)


def text_of(el):
    return "".join(el.itertext()).strip()


def section(tree, ident):
    found = [s for s in tree.iter("section") if s.get("id") == ident]
    assert len(found) == 1, ident
    return found[0]


def list_ids(tree, ident):
    """Customer ids of one list table, in the page's order (rank, customer, ...)."""
    rows = section(tree, ident).iter("tr")
    out = []
    for tr in rows:
        tds = list(tr.iter("td"))
        if tds:
            assert int(text_of(tds[0])) == len(out) + 1  # ranks 1, 2, ...
            out.append(text_of(tds[1]))
    return out


def first_number(text):
    return float(re.search(r"-?\d+(?:\.\d+)?", text).group(0))


def check_page(html5lib, text, rows, threshold, top):
    """Validity, no external reference, the lists and the totals against the CSV."""
    tree = parse_strict(html5lib, text)
    assert text.startswith("<!DOCTYPE html>")
    m = URL.search(text)
    assert m is None, f"a URL in the page: {text[m.start() - 40:m.end() + 40]!r}"
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue  # comments
        tag = el.tag.split("}")[-1].lower()
        assert tag not in LOADING_TAGS, tag
        for a in el.attrib:
            assert a.split("}")[-1].lower() not in LOADING_ATTRS, (tag, a)
        if tag == "style":
            assert not re.search(r"(?i)url\s*\(|@import|@font-face", text_of(el))
        if tag == "meta":
            assert el.get("http-equiv") is None
    assert text.count("<svg ") == 4 and "viewBox=" in text and "@media print" in text
    save, win = list_ids(tree, "save-now"), list_ids(tree, "win-back")
    n_save = sum(float(r["p_alive"]) >= threshold for r in rows.values())
    assert len(save) == min(top, n_save) and len(win) == min(top, len(rows) - n_save)
    for cid in save:
        assert float(rows[cid]["p_alive"]) >= threshold, cid
        assert rows[cid]["list"] == "save_now"
    for cid in win:
        assert float(rows[cid]["p_alive"]) < threshold, cid
        assert rows[cid]["list"] == "win_back"
    # the page's order is the CSV's list_rank
    assert [int(rows[c]["list_rank"]) for c in save] == list(range(1, len(save) + 1))
    assert [int(rows[c]["list_rank"]) for c in win] == list(range(1, len(win) + 1))
    # totals on the page = sums of the CSV's columns (the page prints two decimals)
    dd = {d.get("id"): text_of(d) for d in tree.iter("dd")}
    col = lambda name, which=None: sum(float(r[name]) for r in rows.values()
                                       if which is None or r["list"] == which)
    assert int(dd["customers"]) == len(rows)
    assert first_number(dd["total-clv"]) == pytest.approx(col("clv"), abs=0.006)
    assert first_number(dd["total-value-at-risk"]) == pytest.approx(col("value_at_risk"),
                                                                    abs=0.006)
    save_text, win_text = dd["save-now-total"], dd["win-back-total"]
    assert save_text.startswith(f"{n_save} customers")
    assert win_text.startswith(f"{len(rows) - n_save} customers")
    loss = float(re.search(r"expected loss (\d+\.\d\d)", save_text).group(1))
    worth = float(re.search(r"worth (\d+\.\d\d)", win_text).group(1))
    assert loss == pytest.approx(col("value_at_risk", "save_now"), abs=0.006)
    assert worth == pytest.approx(col("value_if_active", "win_back"), abs=0.006)
    return tree


def png_spread(path):
    """(standard deviation of the grey levels, share of non-white pixels) of a PNG."""
    try:
        from PIL import Image, ImageStat
    except ImportError:
        return png_spread_zlib(path)
    im = Image.open(path).convert("L")
    hist = im.histogram()
    return ImageStat.Stat(im).stddev[0], 1 - hist[255] / sum(hist)


def png_spread_zlib(path):
    """png_spread without PIL: inflate the IDAT chunks and undo the row filters of an
    8-bit RGB or RGBA PNG (what Chromium writes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    grey = []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        grey += [sum(line[i:i + 3]) // 3 for i in range(0, stride, bpp * 7)]  # every 7th pixel
        prev = line
    mean = sum(grey) / len(grey)
    sd = (sum((g - mean) ** 2 for g in grey) / len(grey)) ** 0.5
    return sd, sum(g < 255 for g in grey) / len(grey)


def render(chromium, page, tmp_path, width, height):
    """Screenshot and rendered DOM of the page in headless Chromium."""
    shot = tmp_path / f"page-{width}.png"
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              f"--user-data-dir={tmp_path / 'profile'}", "--no-first-run",
              f"--window-size={width},{height}"]
    env = dict(os.environ, HOME=str(tmp_path))
    subprocess.run(common + [f"--screenshot={shot}", page.as_uri()], capture_output=True,
                   timeout=180, env=env, check=True)
    dom = subprocess.run(common + ["--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=180, env=env, check=True).stdout
    return shot, dom


def check_rendered(chromium, page, tmp_path):
    for width, height in ((1000, 2600), (400, 1600)):  # desktop, phone
        shot, dom = render(chromium, page, tmp_path, width, height)
        assert shot.exists() and shot.stat().st_size > 10000
        sd, ink = png_spread(shot)
        assert sd > 20 and ink > 0.05, (width, sd, ink)  # not blank, not one colour
        for t in TITLES:
            assert f">{t}</h2>" in dom.replace("&amp;", "&"), (width, t)
        assert dom.count("<svg") == 4 and dom.count("<text") > 100
    with open(shot, "rb") as f:  # a real PNG of the requested size
        assert struct.unpack(">II", f.read(24)[16:24]) == (400, 1600)


def check_print(chromium, page, tmp_path):
    """Chromium's print to PDF (the print style sheet): a real, multi-page document."""
    pdf = tmp_path / "page.pdf"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], capture_output=True, timeout=180,
                   env=dict(os.environ, HOME=str(tmp_path)), check=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 20000
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert 2 <= pages <= 12, pages


def test_html_page_cdnow(churn, cdnow, tmp_path, html5lib, chromium):
    out, page = tmp_path / "r.csv", tmp_path / "report.html"
    churn("report", cdnow, *CDNOW_ARGS, "--top", "10", "-o", out, "--html", page)
    rows = read_rows(out)
    assert len(rows) == 2357
    tree = check_page(html5lib, page.read_text(encoding="utf-8"), rows, 0.5, 10)
    assert list_ids(tree, "win-back")[0] == "19339"
    assert list_ids(tree, "save-now")[0] == "10355"
    # the 80/20 picture: the key tier's share of the value as the CSV gives it
    clv = [float(r["clv"]) for r in rows.values()]
    key = sum(float(r["clv"]) for r in rows.values() if r["tier"] == "key")
    assert f"{100 * key / sum(clv):.1f}% of the CLV" in page.read_text(encoding="utf-8")
    check_rendered(chromium, page, tmp_path)
    check_print(chromium, page, tmp_path)


def test_html_page_simulated_log(churn, tmp_path, html5lib, chromium):
    tx = tmp_path / "tx.csv"
    churn("simulate", "--model", "pnbd", "--customers", "3000", "--seed", "5", "--start",
          "2024-01-01", "--weeks", "60", "--acquisition-weeks", "13", "-o", tx)
    out, page = tmp_path / "r.csv", tmp_path / "report.html"
    churn("report", tx, "--cutoff", "2024-10-31", "--alive-threshold", "0.4", "--top", "25",
          "-o", out, "--html", page)
    text = page.read_text(encoding="utf-8")
    check_page(html5lib, text, read_rows(out), 0.4, 25)
    # customers acquired over 13 weeks from 2024-01-01: monthly cohorts January to March (and
    # 1 April, the 13th week's last day), each row starting at 100% in its first month
    tree = parse_strict(html5lib, text)
    cohort_svg = next(section(tree, "cohorts").iter(SVG + "svg"))
    labels = [text_of(t) for t in cohort_svg.iter(SVG + "text")]
    dates = [d for d in labels if re.fullmatch(r"2024-\d\d-01", d)]
    assert dates[:3] == ["2024-01-01", "2024-02-01", "2024-03-01"] and len(dates) <= 4
    cells = [text_of(t) for t in cohort_svg.iter(SVG + "text") if t.get("class") == "cell"]
    assert cells.count("100") >= 3
    check_rendered(chromium, page, tmp_path)


def test_html_page_escapes_ids(churn, tmp_path, html5lib):
    """Hostile customer ids come out as text, never as markup."""
    tx = tmp_path / "tx.csv"
    ids = ["<script>alert(1)</script>", "a&b", "q\"'x", "<img src=x>", "plain"]
    with open(tx, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "date", "amount"])
        for k, cid in enumerate(ids):
            for d in range(1 + k % 3):
                w.writerow([cid, f"2024-0{1 + d}-{10 + k:02d}", 10 + 5 * k + d])
            w.writerow([cid, f"2024-0{4 + k % 2}-{10 + k:02d}", 20 + k])
    out, page = tmp_path / "r.csv", tmp_path / "report.html"
    churn("report", tx, "--cutoff", "2024-06-30", "-o", out, "--html", page)
    text = page.read_text(encoding="utf-8")
    tree = check_page(html5lib, text, read_rows(out), 0.5, 10)
    shown = list_ids(tree, "save-now") + list_ids(tree, "win-back")
    assert sorted(shown) == sorted(ids)  # the ids read back as the same text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_png_fallback_agrees_with_pil(tmp_path):
    """The zlib reader used without PIL gives PIL's numbers on a Chromium-like RGBA PNG."""
    Image = pytest.importorskip("PIL.Image", reason="PIL absent: nothing to compare with")
    im = Image.new("RGBA", (120, 80), (255, 255, 255, 255))
    for x in range(10, 70):
        for y in range(20, 60):
            im.putpixel((x, y), (0, 114, 178, 255))
    path = tmp_path / "p.png"
    im.save(path)
    sd, ink = png_spread(path)
    sd2, ink2 = png_spread_zlib(path)
    assert ink == pytest.approx(60 * 40 / (120 * 80), abs=1e-9)
    assert ink2 == pytest.approx(ink, abs=0.03) and sd2 == pytest.approx(sd, rel=0.1)


def test_html_errors(churn, cdnow, tmp_path):
    p = churn("report", cdnow, *CDNOW_ARGS, "--html", tmp_path / "no" / "such" / "dir.html",
              check=False)
    assert p.returncode == 1 and "dir.html" in p.stderr
    p = churn("report", cdnow, *CDNOW_ARGS, "-o", "-", "--html", "-", check=False)
    assert p.returncode == 2 and "standard output" in p.stderr
    # --html -: the page on standard output, the summary on standard error
    p = churn("report", cdnow, *CDNOW_ARGS, "--html", "-")
    assert p.stdout.startswith("<!DOCTYPE html>") and p.stdout.endswith("</html>\n")
    assert "save now: " in p.stderr
