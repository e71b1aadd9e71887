// Progressive enhancement of the badge pages: a copy button for the badge's link (the link
// stays plain selectable text without JavaScript) and a preview of a chosen badge image.
(function () {
  "use strict";

  function setUpCopy(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentElement.querySelector(".copy-status");
    if (!target || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(
        function () {
          if (status) status.textContent = "Link copied to the clipboard.";
        },
        function () {
          if (status) status.textContent = "Could not copy: select the link and copy it.";
        }
      );
    });
  }

  function setUpPreview(input) {
    var preview = document.getElementById(input.getAttribute("data-preview"));
    if (!preview || !window.FileReader) {
      return;
    }
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file || !/^image\/(png|svg\+xml)$/.test(file.type)) {
        return;
      }
      var reader = new FileReader();
      reader.onload = function () {
        preview.src = reader.result;
        preview.alt = "Preview of the chosen image " + file.name;
      };
      reader.readAsDataURL(file);
    });
  }

  function start() {
    document.querySelectorAll("button[data-copy]").forEach(setUpCopy);
    document.querySelectorAll("input[type=file][data-preview]").forEach(setUpPreview);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
