// An agent's answer as sanitised markdown, and a tool call as a collapsible card.
import Markdown from "react-markdown";
import rehypeSanitize from "rehype-sanitize";

export function Answer({ text }: { text: string }) {
  return (
    <div className="[&_a]:underline [&_code]:font-mono [&_ol]:list-decimal [&_ol]:pl-5 [&_p]:my-2 [&_pre]:overflow-x-auto [&_ul]:list-disc [&_ul]:pl-5">
      <Markdown rehypePlugins={[rehypeSanitize]}>{text}</Markdown>
    </div>
  );
}

function json(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

interface ToolCardProps {
  label: string;
  input?: unknown;
  output?: unknown;
  done: boolean;
}

export function ToolCard({ label, input, output, done }: ToolCardProps) {
  return (
    <details className="rounded-md border border-slate-300 bg-slate-100 p-3 text-sm dark:border-slate-600 dark:bg-slate-800">
      <summary className="cursor-pointer font-medium">
        {label} {done ? "— done" : "— running…"}
      </summary>
      {input !== undefined && (
        <>
          <p className="mt-2 font-medium">Arguments</p>
          <pre className="overflow-x-auto font-mono text-xs">{json(input)}</pre>
        </>
      )}
      {done && (
        <>
          <p className="mt-2 font-medium">Result</p>
          <pre className="overflow-x-auto font-mono text-xs">{json(output)}</pre>
        </>
      )}
    </details>
  );
}
