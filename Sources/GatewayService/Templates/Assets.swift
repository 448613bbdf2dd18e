extension PageTemplates {
    /// The only stylesheet: system fonts, readable on a laptop, visible focus.
    static let css = """
    :root { color-scheme: light; --ink: #1d2433; --muted: #5a6275; --line: #d5d9e2; --accent: #1f5fbf; --bad: #a4161a; --warn: #8a5a00; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f7f8fa; }
    header { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: .5rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
    .brand { font-weight: 700; margin: 0; }
    nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
    .logout { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
    main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
    main:focus { outline: none; }
    a { color: var(--accent); }
    a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, .errors:focus { outline: 3px solid #ffbf47; outline-offset: 2px; }
    .skip { position: absolute; left: -999px; }
    .skip:focus { left: 1rem; top: .5rem; background: #fff; padding: .25rem .5rem; z-index: 1; }
    .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
    table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: 1rem; }
    th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
    caption { text-align: left; color: var(--muted); padding: .25rem 0; }
    .stage, .tag { display: inline-block; padding: 0 .5rem; border-radius: .75rem; background: #e6eefb; }
    .hint { color: var(--muted); font-size: .9rem; margin: 0 0 .5rem; }
    .stack { display: grid; gap: .25rem; max-width: 32rem; background: #fff; padding: 1rem; border: 1px solid var(--line); }
    .stack label { font-weight: 600; margin-top: .5rem; }
    .check { display: flex; gap: .5rem; align-items: center; margin-top: .5rem; }
    input, select, textarea, button { font: inherit; padding: .35rem .5rem; }
    button { cursor: pointer; background: var(--accent); color: #fff; border: 0; border-radius: .25rem; }
    .logout button, .row-actions button { background: #eef1f6; color: var(--ink); border: 1px solid var(--line); }
    .row-actions form { display: inline; margin-left: .5rem; }
    [aria-invalid="true"] { border: 2px solid var(--bad); }
    .errors { border: 2px solid var(--bad); background: #fff5f5; padding: .5rem 1rem; margin: 1rem 0; }
    .errors h2 { margin: 0; font-size: 1.1rem; color: var(--bad); }
    .notice { border-left: 4px solid #2b8a3e; background: #f0fbf3; padding: .5rem 1rem; }
    .code { font-family: ui-monospace, monospace; }
    .columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem; }
    .sla.breached { color: var(--bad); }
    .sla.at_risk { color: var(--warn); }
    .actions { display: flex; flex-wrap: wrap; gap: .5rem; list-style: none; padding: 0; }
    .timeline { padding-left: 1.25rem; }
    .interaction { background: #fff; border: 1px solid var(--line); padding: .5rem 1rem; margin-bottom: .5rem; }
    .interaction h3 { margin: 0; font-size: 1rem; }
    meter { width: 12rem; }
    .filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: flex-end; background: #fff; padding: .75rem 1rem; border: 1px solid var(--line); margin-bottom: .5rem; }
    .filters label { display: block; font-weight: 600; }
    """

    /// The only script: the dashboard refreshes its panel (not while focus is inside it), and a form
    /// the service refused moves focus to its error summary.
    static let javascript = """
    (function () {
      "use strict";
      var errors = document.getElementById("errors");
      if (errors) { errors.focus(); }
      var panel = document.getElementById("panel");
      if (!panel || !window.fetch) { return; }
      var seconds = parseInt(panel.getAttribute("data-seconds"), 10) || 15;
      var status = document.getElementById("refreshed");
      function refresh() {
        if (panel.contains(document.activeElement)) { return; }
        fetch(panel.getAttribute("data-refresh"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (response) {
            if (response.status === 401 || response.redirected) { window.location.href = "/login"; return null; }
            return response.ok ? response.text() : null;
          })
          .then(function (html) {
            if (html === null || html === undefined || panel.contains(document.activeElement)) { return; }
            panel.innerHTML = html;
            if (status) { status.textContent = "Updated " + new Date().toLocaleTimeString(); }
          })
          .catch(function () { if (status) { status.textContent = "Could not update; retrying."; } });
      }
      window.setInterval(refresh, seconds * 1000);
    })();
    """
}
