// The login page's single sign-on: a "Continue with <name>" link per configured provider, and
// the reason a provider's sign-in was refused.
import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { useSessionStatus } from "../session/session";
import { Button } from "../ui/Button";
import { safeNext } from "./next";
import { ssoErrorMessage, ssoStartUrl } from "./sso";

export function SsoError() {
  const [params] = useSearchParams();
  const code = params.get("sso_error");
  if (!code) return null;
  return (
    <div
      role="alert"
      className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200"
    >
      {ssoErrorMessage(code)}
    </div>
  );
}

export function SsoButtons() {
  const [params] = useSearchParams();
  // Asked once the session is known: the first renewal finding none clears the cache, and a
  // query cleared in flight would never settle.
  const known = useSessionStatus() !== "unknown";
  const providers = useQuery({
    queryKey: ["sso-providers"],
    queryFn: async () => unwrap(await api.GET("/api/v1/auth/sso/providers")),
    staleTime: 5 * 60_000,
    enabled: known,
  });
  if (providers.isPending) {
    return (
      <p role="status" className="text-center text-sm text-slate-600 dark:text-slate-400">
        Loading sign-in options…
      </p>
    );
  }
  if (providers.isError) {
    return (
      <p role="status" className="text-center text-sm text-slate-600 dark:text-slate-400">
        Single sign-on options could not be loaded; log in with your password, or reload the page.
      </p>
    );
  }
  if (providers.data.items.length === 0) return null;
  const next = safeNext(params.get("next"));
  return (
    <section aria-labelledby="sso-heading" className="flex flex-col gap-3">
      <h2 id="sso-heading" className="text-center text-sm text-slate-600 dark:text-slate-400">
        Or sign in with your organization
      </h2>
      <ul className="flex flex-col gap-2">
        {providers.data.items.map((provider) => (
          <li key={provider.id} className="flex flex-col">
            <Button asChild look="secondary">
              <a href={ssoStartUrl(provider.id, next)}>Continue with {provider.name}</a>
            </Button>
          </li>
        ))}
      </ul>
    </section>
  );
}
