// Editors for the helpdesk's JSON fields: a tag input for lists of strings (tags, skills) and a key-value
// editor for flat objects (custom fields).
//
// The form still posts the JSON textarea Django renders (a page without JavaScript keeps working: the
// textarea stays visible); the editor is drawn next to it and writes the textarea on every change.
// unfold ships no widget for either, and a file (not inline script) keeps a Content-Security-Policy happy.
(function () {
    "use strict";

    var INPUT_CLASS = "border border-base-200 bg-white rounded-default shadow-xs px-3 py-2 text-sm " +
        "dark:bg-base-900 dark:border-base-700";
    var BUTTON_CLASS = "border border-base-200 rounded-default px-2 py-1 text-sm dark:border-base-700";

    function parse(textarea, fallback) {
        try {
            var value = JSON.parse(textarea.value || "null");
            return value === null ? fallback : value;
        } catch (error) {
            return null; // not JSON: leave the textarea to the user, the form says what is wrong
        }
    }

    function button(text, label) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = BUTTON_CLASS;
        b.textContent = text;
        if (label) { b.setAttribute("aria-label", label); }
        return b;
    }

    function fieldLabel(textarea) {
        var label = document.querySelector('label[for="' + textarea.id + '"]');
        return label ? label.textContent.replace(/\*/g, "").trim() : textarea.name;
    }

    function tagsEditor(textarea) {
        var tags = parse(textarea, []);
        if (!Array.isArray(tags) || tags.some(function (t) { return typeof t !== "string"; })) { return; }
        var name = fieldLabel(textarea);
        var box = document.createElement("div");
        box.className = "flex flex-row flex-wrap items-center gap-2";
        box.setAttribute("data-json-editor", "tags");
        var list = document.createElement("ul");
        list.className = "flex flex-row flex-wrap gap-2";
        list.setAttribute("aria-label", name);
        var input = document.createElement("input");
        input.type = "text";
        input.className = INPUT_CLASS;
        input.setAttribute("aria-label", "Add to " + name + " (Enter adds)");
        input.placeholder = "Add, then press Enter";

        function write() { textarea.value = JSON.stringify(tags); }
        function draw() {
            list.replaceChildren();
            list.hidden = !tags.length; // an empty list would still take a gap before the input
            tags.forEach(function (tag, index) {
                var item = document.createElement("li");
                item.className = "flex flex-row items-center gap-1 break-all bg-base-100 rounded-default px-2 py-1 text-sm dark:bg-base-800";
                item.append(document.createTextNode(tag));
                var remove = button("×", "Remove " + tag);
                remove.className = "px-1";
                remove.addEventListener("click", function () { tags.splice(index, 1); write(); draw(); input.focus(); });
                item.append(remove);
                list.append(item);
            });
        }
        function add() {
            input.value.split(",").forEach(function (part) {
                var tag = part.trim();
                if (tag && tags.indexOf(tag) === -1) { tags.push(tag); }
            });
            input.value = "";
            write();
            draw();
        }
        input.addEventListener("keydown", function (event) {
            if (event.key === "Enter" || event.key === ",") { event.preventDefault(); add(); }
            if (event.key === "Backspace" && !input.value && tags.length) { tags.pop(); write(); draw(); }
        });
        input.addEventListener("blur", function () { if (input.value.trim()) { add(); } });
        box.append(list, input);
        draw();
        textarea.hidden = true;
        textarea.after(box);
    }

    function keyValueEditor(textarea) {
        var data = parse(textarea, {});
        if (data === null || typeof data !== "object" || Array.isArray(data)) { return; }
        var flat = Object.keys(data).every(function (k) {
            return data[k] === null || ["string", "number", "boolean"].indexOf(typeof data[k]) !== -1;
        });
        if (!flat) { return; } // nested values: the JSON textarea shows them as they are
        var name = fieldLabel(textarea);
        var box = document.createElement("div");
        box.className = "flex flex-col gap-2";
        box.setAttribute("data-json-editor", "key-value");
        var rows = document.createElement("div");
        rows.className = "flex flex-col gap-2";
        var add = button("Add a field", "Add a row to " + name);
        add.className += " self-start";

        function write() {
            var out = {};
            rows.querySelectorAll("[data-kv-row]").forEach(function (row) {
                var key = row.querySelector("[data-kv-key]").value.trim();
                var raw = row.querySelector("[data-kv-value]").value;
                if (!key) { return; }
                var original = row.getAttribute("data-kv-type");
                if (original === "number" && raw.trim() !== "" && !isNaN(Number(raw))) { out[key] = Number(raw); }
                else if (original === "boolean" && (raw === "true" || raw === "false")) { out[key] = raw === "true"; }
                else { out[key] = raw; }
            });
            textarea.value = JSON.stringify(out);
        }
        function row(key, value) {
            var line = document.createElement("div");
            line.className = "flex flex-row gap-2";
            line.setAttribute("data-kv-row", "");
            line.setAttribute("data-kv-type", value === null ? "string" : typeof value);
            var k = document.createElement("input");
            k.className = INPUT_CLASS;
            k.value = key;
            k.setAttribute("data-kv-key", "");
            k.setAttribute("aria-label", name + ": name");
            k.placeholder = "Name";
            var v = document.createElement("input");
            v.className = INPUT_CLASS + " grow";
            v.value = value === null ? "" : String(value);
            v.setAttribute("data-kv-value", "");
            v.setAttribute("aria-label", name + ": value");
            v.placeholder = "Value";
            var remove = button("Remove", "Remove this row of " + name);
            remove.addEventListener("click", function () { line.remove(); write(); add.focus(); });
            [k, v].forEach(function (input) { input.addEventListener("input", write); });
            line.append(k, v, remove);
            return line;
        }
        Object.keys(data).forEach(function (key) { rows.append(row(key, data[key])); });
        add.addEventListener("click", function () {
            var line = row("", "");
            rows.append(line);
            line.querySelector("[data-kv-key]").focus();
        });
        box.append(rows, add);
        textarea.hidden = true;
        textarea.after(box);
    }

    window.addEventListener("DOMContentLoaded", function () {
        document.querySelectorAll("textarea[data-json-widget=tags]").forEach(tagsEditor);
        document.querySelectorAll("textarea[data-json-widget=key-value]").forEach(keyValueEditor);
    });
})();
