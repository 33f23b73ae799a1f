// The frame of every page: skip link, header with the navigation, the page, a footer.
import type { ReactNode } from "react";
import { NavLink, Outlet } from "react-router";
import { FOCUS_RING } from "./Button";

const linkLook = ({ isActive }: { isActive: boolean }) =>
  `rounded px-2 py-1 text-sm ${FOCUS_RING} ${isActive ? "font-semibold underline" : "hover:underline"}`;

export function Layout({ navigation }: { navigation: ReactNode }) {
  return (
    <div className="flex min-h-screen flex-col bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:rounded focus:bg-white focus:p-2 focus:text-slate-900"
      >
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
        <nav aria-label="Main" className="mx-auto flex max-w-5xl flex-wrap items-center gap-2 px-4 py-3">
          <NavLink to="/" className={`mr-auto text-lg font-bold ${FOCUS_RING}`}>
            Agentbus
          </NavLink>
          {navigation}
        </nav>
      </header>
      <main id="main" className="mx-auto w-full max-w-5xl flex-1 px-4 py-8">
        <Outlet />
      </main>
      <footer className="border-t border-slate-200 px-4 py-6 text-center text-sm text-slate-600 dark:border-slate-800 dark:text-slate-400">
        Agentbus
      </footer>
    </div>
  );
}

export function NavItem({ to, children }: { to: string; children: ReactNode }) {
  return (
    <NavLink to={to} className={linkLook}>
      {children}
    </NavLink>
  );
}

/** A page's title and content, in one width and rhythm. */
export function Page({ title, lead, children }: { title: string; lead?: string; children: ReactNode }) {
  return (
    <section aria-labelledby="page-title" className="flex flex-col gap-6">
      <header>
        <h1 id="page-title" className="text-2xl font-bold sm:text-3xl">
          {title}
        </h1>
        {lead && <p className="mt-2 text-slate-600 dark:text-slate-400">{lead}</p>}
      </header>
      {children}
    </section>
  );
}

/** A titled part of a page, as a card: a region named by its heading. */
export function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section
      aria-labelledby={id}
      className="flex flex-col gap-4 rounded-lg border border-slate-200 bg-white p-4 sm:p-6 dark:border-slate-800 dark:bg-slate-900"
    >
      <h2 id={id} className="text-lg font-semibold">
        {title}
      </h2>
      {children}
    </section>
  );
}

/** A narrow column for forms (login, register, …). */
export function FormPage({ title, lead, children }: { title: string; lead?: string; children: ReactNode }) {
  return (
    <div className="mx-auto w-full max-w-md">
      <Page title={title} {...(lead ? { lead } : {})}>
        {children}
      </Page>
    </div>
  );
}
