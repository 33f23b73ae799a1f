// The signed-in person's tenant's features, read from the API (cached under FEATURE_KEYS.mine).
import { useQuery } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { FEATURE_KEYS } from "./features";

export function useFeatures() {
  return useQuery({
    queryKey: FEATURE_KEYS.mine,
    queryFn: async () => unwrap(await api.GET("/api/v1/features")),
  });
}
