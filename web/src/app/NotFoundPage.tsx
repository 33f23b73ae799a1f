// What an unknown address of the app shows.
import { Link } from "react-router";
import { Page } from "../ui/Layout";

export function NotFoundPage() {
  return (
    <Page title="Page not found" lead="There is nothing at this address.">
      <Link className="underline" to="/">
        Go to the home page
      </Link>
    </Page>
  );
}
