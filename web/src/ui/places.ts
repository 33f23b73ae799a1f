// Where an IP was, as the server located it (sessions and audit entries carry country and city).

/** "Sydney, AU", "AU" or "—": where an IP was, as far as the server knows. */
export function placeName(country: string | null | undefined, city: string | null | undefined): string {
  return [city, country].filter(Boolean).join(", ") || "—";
}
