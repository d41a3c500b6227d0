import { navigate } from '../router';
import { Icon } from './icons';

// ProjectCrumb is the "/ ← <slug>" crumb a project's sub-page (audit log,
// logs) puts in the header, leading back to the project's editor.
export function ProjectCrumb({ slug, testId }: { slug: string; testId: string }) {
  return (
    <>
      <span className="crumb-sep">/</span>
      <a
        href={`/p/${slug}`}
        className="nav-link"
        data-testid={testId}
        onClick={(e) => {
          e.preventDefault();
          navigate(`/p/${slug}`);
        }}
      >
        <Icon name="back" size={14} /> {slug}
      </a>
    </>
  );
}
