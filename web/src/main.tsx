// The app's entry point: mounts the router inside the providers every page shares.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { adoptStyleNonce } from "./app/styleNonce";
import "./styles.css";

adoptStyleNonce(document);

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
