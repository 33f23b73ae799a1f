// The public landing page: what Agentbus does, and the way in.
import { Link } from "react-router";
import { Button } from "../ui/Button";

const FEATURES = [
  ["Agents that hand off", "A triage agent routes each question to the agent that knows: billing, support, your own."],
  ["Answers as they are written", "Every answer streams in word by word, with the tools the agent used shown as it uses them."],
  ["Billing built in", "Plans, usage meters and invoices, paid through Stripe Checkout."],
  ["Teams and security", "Invite your team with roles, turn on two-factor sign-in, revoke any session."],
] as const;

export function LandingPage() {
  return (
    <div className="flex flex-col gap-12">
      <section aria-labelledby="page-title" className="flex flex-col items-start gap-4 py-8">
        <h1 id="page-title" className="text-3xl font-bold sm:text-5xl">
          AI agents for your customers, with billing built in
        </h1>
        <p className="max-w-2xl text-lg text-slate-700 dark:text-slate-300">
          Agentbus answers your customers' questions with agents that hand off to each other, use
          your tools and remember the conversation.
        </p>
        <div className="flex flex-wrap gap-3">
          <Button asChild>
            <Link to="/register">Start for free</Link>
          </Button>
          <Button asChild look="secondary">
            <Link to="/pricing">See pricing</Link>
          </Button>
          <Button asChild look="secondary">
            <Link to="/request-access">Request access</Link>
          </Button>
        </div>
      </section>
      <section aria-labelledby="features" className="grid gap-6 sm:grid-cols-2">
        <h2 id="features" className="sr-only">
          Features
        </h2>
        {FEATURES.map(([title, text]) => (
          <article key={title} className="rounded-lg border border-slate-200 bg-white p-6 dark:border-slate-800 dark:bg-slate-900">
            <h3 className="font-semibold">{title}</h3>
            <p className="mt-2 text-slate-700 dark:text-slate-300">{text}</p>
          </article>
        ))}
      </section>
    </div>
  );
}
