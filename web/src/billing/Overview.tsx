// The plan in force with the features it gives the team, and this period's usage, each meter
// against its limit.
import { useFeatures } from "../features/queries";
import { featureName, price, type Plan } from "../pricing/plans";
import { ErrorState, Loading } from "../ui/states";
import { useUsage } from "./queries";
import { periodWords, readMeter, statusWords, type MeterUsage, type Subscription } from "./usage";

export function CurrentPlan({ plan, subscription }: { plan: Plan; subscription: Subscription }) {
  const period = periodWords(subscription);
  return (
    <div className="flex flex-col gap-2">
      <p className="text-2xl font-bold" data-testid="current-plan">
        {plan.name}
      </p>
      <p className="text-slate-600 dark:text-slate-400">
        {price(plan)} · {statusWords(subscription.status)}
        {period && ` · ${period}`}
      </p>
      <PlanFeatures />
    </div>
  );
}

/** The features in force for the team: the plan's, with any an operator turned on or off. */
function PlanFeatures() {
  const features = useFeatures();
  if (features.isPending) return <Loading label="Loading your plan's features" />;
  if (features.isError) return <ErrorState error={features.error} retry={() => void features.refetch()} />;
  if (features.data.features.length === 0) return <p className="text-sm">Your plan includes no features.</p>;
  return (
    <p className="text-sm" data-testid="plan-features">
      Your plan includes: {features.data.features.map(featureName).join(", ")}
    </p>
  );
}

function Meter({ usage }: { usage: MeterUsage }) {
  const reading = readMeter(usage);
  const id = `meter-${usage.meter}`;
  const full = reading.percent !== null && reading.percent >= 100;
  return (
    <li className="flex flex-col gap-1">
      <div className="flex flex-wrap justify-between gap-x-4 text-sm">
        <span id={id} className="font-medium">
          {reading.name}
        </span>
        <span>{reading.text}</span>
      </div>
      {reading.percent !== null && (
        <div
          role="progressbar"
          aria-labelledby={id}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={reading.percent}
          aria-valuetext={reading.text}
          className="h-3 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700"
        >
          <div
            className={`h-full rounded-full ${full ? "bg-red-600" : "bg-indigo-600"}`}
            style={{ width: `${reading.percent}%` }}
          />
        </div>
      )}
    </li>
  );
}

export function Meters() {
  const usage = useUsage();
  if (usage.isPending) return <Loading label="Loading this period's usage" />;
  if (usage.isError) return <ErrorState error={usage.error} retry={() => void usage.refetch()} />;
  const { period_start, period_end, meters } = usage.data;
  return (
    <div className="flex flex-col gap-4">
      <p className="text-sm text-slate-600 dark:text-slate-400">
        This period: {new Date(period_start).toLocaleDateString()} – {new Date(period_end).toLocaleDateString()}
      </p>
      <ul aria-label="Usage this period" className="flex flex-col gap-4">
        {meters.map((meter) => (
          <Meter key={meter.meter} usage={meter} />
        ))}
      </ul>
    </div>
  );
}
