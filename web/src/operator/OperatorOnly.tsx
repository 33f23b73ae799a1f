// The gate of an operator screen: loading, the failure to load the person, or a plain refusal for
// anyone without platform:operate; the screen itself otherwise.
import type { ReactNode } from "react";
import { useMe } from "../account/me";
import { Page } from "../ui/Layout";
import { Empty, ErrorState, Loading } from "../ui/states";
import { OPERATE } from "./OperatorNavItem";

export function OperatorOnly({ title, children }: { title: string; children: ReactNode }) {
  const me = useMe();
  if (me.isPending) return <Loading label="Loading" />;
  if (me.isError) return <ErrorState error={me.error} retry={() => void me.refetch()} />;
  if (!me.data.scopes.includes(OPERATE)) {
    return (
      <Page title={title}>
        <Empty title="This screen is for platform operators.">Ask an operator if you need something here.</Empty>
      </Page>
    );
  }
  return children;
}
