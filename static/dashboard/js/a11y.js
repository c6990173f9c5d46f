// Names for the controls third-party widgets draw without one, so screen readers can announce them.
//
// Django admin's autocomplete (select2) hides the real <select> and draws a combobox whose accessible name
// points at the text of the current choice, which is empty until something is chosen (axe:
// aria-input-field-name). Each combobox gets its field's label instead. A file, not an inline script,
// so a Content-Security-Policy without 'unsafe-inline' keeps it.
(function () {
    "use strict";

    function labelFor(select) {
        var label = select.id && document.querySelector('label[for="' + select.id + '"]');
        var text = label ? label.textContent.replace(/\*/g, "").trim() : "";
        return text || select.getAttribute("name") || "";
    }

    function nameComboboxes(root) {
        // Django's own autocomplete fields, and unfold's select2 boxes (the trash's searchable filters).
        var selects = "select.admin-autocomplete, select.unfold-admin-autocomplete, select.unfold-filter-autocomplete";
        (root || document).querySelectorAll(selects).forEach(function (select) {
            var container = select.nextElementSibling;
            if (!container || !container.classList.contains("select2")) {
                return;
            }
            var name = labelFor(select);
            container.querySelectorAll(".select2-selection, .select2-selection__rendered").forEach(function (el) {
                el.setAttribute("aria-label", name);
            });
        });
    }

    // The two-list selector's magnifier is a <span> with an aria-label, which a span without a role may
    // not carry (axe: aria-prohibited-attr): it is an image with a name.
    function nameFilterIcons(root) {
        root.querySelectorAll("span.help-tooltip[aria-label]:not([role])").forEach(function (icon) {
            icon.setAttribute("role", "img");
        });
    }

    // Django's autocomplete.js draws the comboboxes in its own "load" listener, registered after this one.
    window.addEventListener("load", function () {
        window.setTimeout(function () {
            nameComboboxes(document);
            nameFilterIcons(document);
            document.documentElement.setAttribute("data-a11y-ready", "");  // for the browser tests
        }, 0);
    });
    document.addEventListener("formset:added", function (event) {
        // Django's inline formsets initialise select2 for the new row in this same event.
        window.setTimeout(function () { nameComboboxes(event.target); }, 0);
    });
})();
