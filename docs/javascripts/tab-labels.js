// Linked tabs everywhere, including inside a collapsed note.
//
// Material's content.tabs.link matches tab groups by each label's innerText.
// A browser returns an empty innerText for an element that is not rendered,
// so a label inside a closed <details> never matches: its group stays on the
// old framework, and is still there when the reader opens the note. Labels of
// tab groups answer with their text content instead when they are hidden.
// Loaded in the page head (overrides/main.html), before Material's bundle.
(function () {
  var native = Object.getOwnPropertyDescriptor(HTMLElement.prototype, "innerText");
  if (!native || !native.get) return;
  Object.defineProperty(HTMLLabelElement.prototype, "innerText", {
    configurable: true,
    get: function () {
      var text = native.get.call(this);
      if (text.trim() === "" && this.parentElement && this.parentElement.classList.contains("tabbed-labels")) {
        return this.textContent;
      }
      return text;
    },
    set: function (value) { native.set.call(this, value); }
  });
})();
