// The public landing page: what Agentbus does.
export function Landing() {
  return (
    <main className="mx-auto max-w-3xl p-6">
      <h1 className="text-3xl font-semibold">Agentbus</h1>
      <p className="mt-4">Agents that answer your customers, with billing built in.</p>
    </main>
  );
}
