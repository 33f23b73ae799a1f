// The app: the server-data cache and the routes.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createBrowserRouter, RouterProvider } from "react-router";
import { Landing } from "../pages/Landing";

const queries = new QueryClient({ defaultOptions: { queries: { retry: false } } });

const router = createBrowserRouter([{ path: "/", element: <Landing /> }]);

export function App() {
  return (
    <QueryClientProvider client={queries}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
