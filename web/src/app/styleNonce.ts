// The page's style nonce (the gateway's <meta name="csp-nonce">, new on every load), handed to
// get-nonce: react-style-singleton, behind the dialogs' scroll lock, puts it on the <style> tags
// it adds, so the Content-Security-Policy lets those in and no other inline style.
import { setNonce } from "get-nonce";

/** The nonce the gateway put in ``page``, if it served it (Vite's dev server does not). */
export function styleNonceOf(page: ParentNode): string | undefined {
  return page.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content || undefined;
}

/** Gives the page's nonce to the libraries that add <style> tags; call before the first render. */
export function adoptStyleNonce(page: ParentNode): void {
  const nonce = styleNonceOf(page);
  if (nonce) setNonce(nonce);
}
