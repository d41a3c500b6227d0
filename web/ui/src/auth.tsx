// The signed-in user, for every page: who they are and their role in each
// project (GET /auth/me), refreshed on demand (opening a project, after a
// member change), cleared on sign-out or on any 401.
import { createContext, useContext } from 'react';
import type { Me } from './model/roles';

export interface AuthState {
  me: Me;
  // refresh reads GET /auth/me again (roles change while signed in).
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
}

export const AuthContext = createContext<AuthState | null>(null);

// useAuth is the signed-in user's state; the pages that use it only render
// once someone is signed in.
export function useAuth(): AuthState {
  const a = useContext(AuthContext);
  if (!a) throw new Error('useAuth outside a signed-in page');
  return a;
}
