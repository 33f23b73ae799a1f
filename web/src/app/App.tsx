// The app: the server-data cache, the toasts, the layout and every route.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createBrowserRouter, RouterProvider, useNavigate } from "react-router";
import { AccountPage } from "../account/AccountPage";
import { ActivityNavItem } from "../activity/ActivityNavItem";
import { ActivityPage } from "../activity/ActivityPage";
import { LiveFeed } from "../activity/LiveFeed";
import { ForgotPasswordPage, ResetPasswordPage } from "../auth/PasswordPages";
import { BillingPage } from "../billing/BillingPage";
import { LoginPage } from "../auth/LoginPage";
import { RegisterPage } from "../auth/RegisterPage";
import { RequireSession } from "../auth/RequireSession";
import { VerifyEmailPage } from "../auth/VerifyEmailPage";
import { ChatPage } from "../chat/ChatPage";
import { HomePage } from "../home/HomePage";
import { LandingPage } from "../landing/LandingPage";
import { PricingPage } from "../pricing/PricingPage";
import { AcceptInvitePage } from "../team/AcceptInvitePage";
import { AuditLogPage } from "../team/AuditLogPage";
import { TeamPage } from "../team/TeamPage";
import { session, useSessionStatus } from "../session/session";
import { Button } from "../ui/Button";
import { Layout, NavItem } from "../ui/Layout";
import { Toasts } from "../ui/toasts";
import { logOut } from "./api";
import { NotFoundPage } from "./NotFoundPage";
import { OperatorNavItem } from "../operator/OperatorNavItem";
import { SignupsPage } from "../operator/SignupsPage";
import { TenantPage } from "../operator/TenantPage";
import { TenantsPage } from "../operator/TenantsPage";
import { RequestAccessPage } from "../signup/RequestAccessPage";

const queries = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: 30_000 } } });

function LogOutButton() {
  const navigate = useNavigate();
  const leave = async () => {
    await logOut();
    void navigate("/", { replace: true });
  };
  return (
    <Button look="secondary" onClick={() => void leave()}>
      Log out
    </Button>
  );
}

function Navigation() {
  const status = useSessionStatus();
  return (
    <>
      <NavItem to="/pricing">Pricing</NavItem>
      {status === "signed-in" ? (
        <>
          <NavItem to="/app">Home</NavItem>
          <ActivityNavItem />
          <NavItem to="/chat">Chat</NavItem>
          <NavItem to="/billing">Billing</NavItem>
          <NavItem to="/team">Team</NavItem>
          <NavItem to="/account">Account</NavItem>
          <OperatorNavItem />
          <LogOutButton />
        </>
      ) : (
        <>
          <NavItem to="/login">Log in</NavItem>
          <NavItem to="/register">Sign up</NavItem>
        </>
      )}
    </>
  );
}

const router = createBrowserRouter([
  {
    element: (
      <LiveFeed>
        <Layout navigation={<Navigation />} />
      </LiveFeed>
    ),
    children: [
      { path: "/", element: <LandingPage /> },
      { path: "/pricing", element: <PricingPage /> },
      { path: "/login", element: <LoginPage /> },
      { path: "/register", element: <RegisterPage /> },
      { path: "/request-access", element: <RequestAccessPage /> },
      { path: "/forgot-password", element: <ForgotPasswordPage /> },
      { path: "/reset-password", element: <ResetPasswordPage /> },
      { path: "/invite", element: <AcceptInvitePage /> },
      {
        element: <RequireSession />,
        children: [
          { path: "/app", element: <HomePage /> },
          { path: "/activity", element: <ActivityPage /> },
          { path: "/verify-email", element: <VerifyEmailPage /> },
          { path: "/account", element: <AccountPage /> },
          { path: "/billing", element: <BillingPage /> },
          { path: "/team", element: <TeamPage /> },
          { path: "/team/audit", element: <AuditLogPage /> },
          { path: "/operator/signups", element: <SignupsPage /> },
          { path: "/operator/tenants", element: <TenantsPage /> },
          { path: "/operator/tenants/:tenantId", element: <TenantPage /> },
          { path: "/chat", element: <ChatPage /> },
          { path: "/chat/:conversationId", element: <ChatPage /> },
        ],
      },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
]);

// Nothing of a person's data outlives their session in this tab, nor serves the next person.
session.onEnd(() => queries.clear());
session.onAnotherPerson(() => {
  queries.clear();
  void router.navigate("/app", { replace: true });
});

// A reload keeps the person logged in: the refresh cookie gives this tab a new access token.
void session.renew();

export function App() {
  return (
    <QueryClientProvider client={queries}>
      <Toasts>
        <RouterProvider router={router} />
      </Toasts>
    </QueryClientProvider>
  );
}
