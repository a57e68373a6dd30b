document.documentElement.classList.remove("no-js");
